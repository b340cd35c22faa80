"""Calls demo.Greeter through gantry (h2c to the Gateway listener).

    python3 examples/grpc/client.py [--target 127.0.0.1:8090] [--version v2] [--count 5] [NAME]
"""

import argparse

import grpc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default="127.0.0.1:8090")
    ap.add_argument("--version", help="send x-version metadata (v2 routes to greeter-v2)")
    ap.add_argument("--count", type=int, help="call the Count server-streaming method instead")
    ap.add_argument("name", nargs="?", default="world")
    args = ap.parse_args()
    md = [("x-version", args.version)] if args.version else []
    # The route's hostname: the channel's :authority.
    with grpc.insecure_channel(args.target,
                               options=[("grpc.default_authority", "grpc.example.com")]) as ch:
        try:
            if args.count is not None:
                for msg in ch.unary_stream("/demo.Greeter/Count")(str(args.count).encode(),
                                                                   metadata=md, timeout=10):
                    print(msg.decode())
            else:
                print(ch.unary_unary("/demo.Greeter/SayHello")(args.name.encode(), metadata=md,
                                                               timeout=5).decode())
        except grpc.RpcError as e:
            print(f"{e.code().name}: {e.details()}")


if __name__ == "__main__":
    main()
