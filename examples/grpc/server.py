"""A tiny gRPC server for the example, without generated code: demo.Greeter with SayHello (unary)
and Count (server streaming); messages are UTF-8 strings.

    python3 examples/grpc/server.py --port 9801 --name v1
"""

import argparse
import time
from concurrent import futures

import grpc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="v1")
    args = ap.parse_args()

    def say_hello(req, ctx):
        md = dict(ctx.invocation_metadata())
        via = f" via {md['x-gateway']}" if "x-gateway" in md else ""
        return f"hello {req.decode()} from {args.name}{via}".encode()

    def count(req, ctx):
        for i in range(int(req.decode() or "3")):
            yield f"{args.name}: {i}".encode()
            time.sleep(0.1)

    handler = grpc.method_handlers_generic_handler("demo.Greeter", {
        "SayHello": grpc.unary_unary_rpc_method_handler(say_hello),
        "Count": grpc.unary_stream_rpc_method_handler(count),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"demo.Greeter {args.name} on 127.0.0.1:{args.port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
