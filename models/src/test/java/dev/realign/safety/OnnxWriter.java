package dev.realign.safety;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes ONNX models (protobuf bytes) for tests, with no Python: a hand-written encoder of the few messages of
 * onnx.proto a small graph needs. Field numbers are onnx.proto's: ModelProto (ir_version 1, graph 7,
 * opset_import 8), OperatorSetIdProto (domain 1, version 2), GraphProto (node 1, name 2, initializer 5,
 * input 11, output 12), NodeProto (input 1, output 2, name 3, op_type 4, attribute 5), AttributeProto (name 1,
 * i 3, type 20), TensorProto (dims 1, data_type 2, float_data 4, int64_data 7, name 8), ValueInfoProto
 * (name 1, type 2), TypeProto (tensor_type 1), TypeProto.Tensor (elem_type 1, shape 2), TensorShapeProto
 * (dim 1), Dimension (dim_value 1, dim_param 2).
 */
final class OnnxWriter {
    static final int FLOAT = 1;
    static final int INT64 = 7;
    private static final int ATTRIBUTE_INT = 2;

    private final List<ByteString> nodes = new ArrayList<>();
    private final List<ByteString> initializers = new ArrayList<>();
    private final List<ByteString> inputs = new ArrayList<>();
    private final List<ByteString> outputs = new ArrayList<>();

    /** A node; {@code intAttributes} are name/value pairs. */
    OnnxWriter node(String opType, List<String> in, String out, Object... intAttributes) {
        nodes.add(message(o -> {
            for (String name : in) {
                o.writeString(1, name);
            }
            o.writeString(2, out);
            o.writeString(3, out + "_node");
            o.writeString(4, opType);
            for (int a = 0; a < intAttributes.length; a += 2) {
                String name = (String) intAttributes[a];
                long value = ((Number) intAttributes[a + 1]).longValue();
                o.writeBytes(5, message(attr -> {
                    attr.writeString(1, name);
                    attr.writeInt64(3, value);
                    attr.writeEnum(20, ATTRIBUTE_INT);
                }));
            }
        }));
        return this;
    }

    /** A float initializer of the given shape, row-major. */
    OnnxWriter floats(String name, float[] values, long... dims) {
        initializers.add(message(o -> {
            for (long d : dims) {
                o.writeInt64(1, d);
            }
            o.writeInt32(2, FLOAT);
            o.writeTag(4, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
            o.writeUInt32NoTag(4 * values.length);
            for (float v : values) {
                o.writeFloatNoTag(v);
            }
            o.writeString(8, name);
        }));
        return this;
    }

    OnnxWriter longs(String name, long[] values, long... dims) {
        initializers.add(message(o -> {
            for (long d : dims) {
                o.writeInt64(1, d);
            }
            o.writeInt32(2, INT64);
            for (long v : values) {
                o.writeInt64(7, v); // unpacked repeated: parsers accept both encodings
            }
            o.writeString(8, name);
        }));
        return this;
    }

    /** A graph input; a dimension is a {@code Long} (fixed) or a {@code String} (symbolic, e.g. "batch"). */
    OnnxWriter input(String name, int elemType, Object... dims) {
        inputs.add(valueInfo(name, elemType, dims));
        return this;
    }

    OnnxWriter output(String name, int elemType, Object... dims) {
        outputs.add(valueInfo(name, elemType, dims));
        return this;
    }

    byte[] toBytes() {
        ByteString graph = message(o -> {
            for (ByteString node : nodes) {
                o.writeBytes(1, node);
            }
            o.writeString(2, "test_graph");
            for (ByteString initializer : initializers) {
                o.writeBytes(5, initializer);
            }
            for (ByteString input : inputs) {
                o.writeBytes(11, input);
            }
            for (ByteString output : outputs) {
                o.writeBytes(12, output);
            }
        });
        return message(o -> {
            o.writeInt64(1, 8); // IR version 8
            o.writeString(2, "realign-test");
            o.writeBytes(7, graph);
            o.writeBytes(8, message(opset -> {
                opset.writeString(1, "");
                opset.writeInt64(2, 13);
            }));
        }).toByteArray();
    }

    private static ByteString valueInfo(String name, int elemType, Object... dims) {
        ByteString shape = message(o -> {
            for (Object dim : dims) {
                o.writeBytes(1, message(d -> {
                    if (dim instanceof String symbol) {
                        d.writeString(2, symbol);
                    } else {
                        d.writeInt64(1, ((Number) dim).longValue());
                    }
                }));
            }
        });
        ByteString tensorType = message(o -> {
            o.writeInt32(1, elemType);
            o.writeBytes(2, shape);
        });
        return message(o -> {
            o.writeString(1, name);
            o.writeBytes(2, message(t -> t.writeBytes(1, tensorType)));
        });
    }

    private interface Body {
        void write(CodedOutputStream out) throws IOException;
    }

    private static ByteString message(Body body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        try {
            body.write(out);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return ByteString.copyFrom(bytes.toByteArray());
    }
}
