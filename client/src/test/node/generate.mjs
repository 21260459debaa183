// A gRPC client built from the .proto files alone: loads proto/src/main/proto/realign/v1/*.proto at run
// time, calls Inference.Generate on the server given as argv[2], and prints each streamed message as one
// JSON line. Exit code 0 on a completed stream, 1 on a gRPC error (printed as {"error": ...}).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const here = path.dirname(fileURLToPath(import.meta.url));
const protoRoot = path.resolve(here, '../../../../proto/src/main/proto');
const definition = protoLoader.loadSync('realign/v1/inference.proto', {
  includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true,
});
const realign = grpc.loadPackageDefinition(definition).realign.v1;
const [target, prompt = 'Hello from node', maxTokens = '5', topLogprobs = '3'] = process.argv.slice(2);
const client = new realign.Inference(target, grpc.credentials.createInsecure());
const call = client.Generate({
  prompt,
  sampling: { max_tokens: Number(maxTokens) },
  top_logprobs: Number(topLogprobs),
});
call.on('data', (message) => console.log(JSON.stringify(message)));
call.on('error', (error) => {
  console.log(JSON.stringify({ error: { code: error.code, details: error.details } }));
  process.exitCode = 1;
});
call.on('end', () => client.close());
