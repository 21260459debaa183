#!/usr/bin/env bash
# Regenerates docs/figures/sweep-task-{full,lora}.{csv,png,svg} from the shipped demo family: serves models/demo
# on a free port and runs the README's sweep for each fine-tune (four methods, ratios 0..1 by 0.1, 40 held-out
# prompts per set). Run from the repository root after the family changes; DemoFamilySweepTest checks the
# task-full recommendation the README quotes.
set -euo pipefail
cd "$(dirname "$0")/../.."
family=models/demo
dir=$(mktemp -d)
./realign serve --model "$family/aligned" --adapter "task-lora=$family/task-lora" --adapter "task-full=$family/task-full" \
  --engine-threads 1 --max-batch 16 --queue 256 --port 0 --metrics-port 0 --port-file "$dir/port" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 600); do [ -s "$dir/port" ] && break; sleep 0.2; done
[ -s "$dir/port" ] || { cat "$dir/server.log" >&2; exit 1; }
for adapter in task-full task-lora; do
  ./realign sweep --server "127.0.0.1:$(cat "$dir/port")" --wait-ready 60 --adapter "$adapter" \
    --methods linear,ties,dare_linear,slerp --ratios 0:1:0.1 \
    --harmful demo-harmful --task demo-task --benign demo-benign --limit 40 --max-tokens 40 --refusal-floor 0.85 \
    --no-progress --csv "docs/figures/sweep-$adapter.csv" --png "docs/figures/sweep-$adapter.png" \
    --svg "docs/figures/sweep-$adapter.svg"
done
