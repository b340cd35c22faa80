#!/usr/bin/env python3
"""A toy Envoy ext_authz gRPC server (envoy.service.auth.v3.Authorization/Check) for the
external-auth example: OK with x-user: admin-alice for "Bearer letmein" when the forwarded body
does not contain "drop table", otherwise denied with 403 and a reason. Needs grpcio and
grpcio-tools (tests/e2e/requirements.txt); the messages are compiled at start from gantry's own
.proto files (src/dataplane/filters/proto)."""
import argparse
import importlib
import sys
import tempfile
from concurrent import futures
from pathlib import Path

import grpc
import grpc_tools
from grpc_tools import protoc

PROTO_DIR = Path(__file__).resolve().parents[2] / "src" / "dataplane" / "filters" / "proto"


def load_messages():
    out = tempfile.mkdtemp(prefix="ext-authz-pb-")
    protos = [str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto")]
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    if protoc.main(["protoc", f"-I{PROTO_DIR}", f"-I{well_known}", f"--python_out={out}",
                    *protos]) != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out)
    return (importlib.import_module("envoy.service.auth.v3.external_auth_pb2"),
            importlib.import_module("envoy.config.core.v3.base_pb2"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9603)
    port = ap.parse_args().port
    pb, base = load_messages()

    def header(key, value):
        return base.HeaderValueOption(header=base.HeaderValue(key=key, value=value))

    def check(req, ctx):
        http = req.attributes.request.http
        body = http.body or http.raw_body.decode("latin-1")
        if http.headers.get("authorization") == "Bearer letmein" and "drop table" not in body:
            ok = pb.OkHttpResponse(headers=[header("x-user", "admin-alice")])
            return pb.CheckResponse(status={"code": 0}, ok_response=ok)
        denied = pb.DeniedHttpResponse(status={"code": 403}, body="admin access denied\n",
                                       headers=[header("content-type", "text/plain")])
        return pb.CheckResponse(status={"code": 7}, denied_response=denied)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "envoy.service.auth.v3.Authorization",
        {"Check": grpc.unary_unary_rpc_method_handler(
            check, request_deserializer=pb.CheckRequest.FromString,
            response_serializer=pb.CheckResponse.SerializeToString)}),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
