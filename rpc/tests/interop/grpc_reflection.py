#!/usr/bin/env python3
"""A generic gRPC client against a Maat node, with no generated stubs: it discovers the API
through the server reflection service, builds the request message from the served file
descriptors, and calls maat.node.v1.NodeApi/Status.

Usage: grpc_reflection.py HOST:PORT

Prints the services the server lists, one per line as `service: NAME`, then
`chain_id: <chain id>` and `height: <height>` from the Status answer. Exits non-zero on any
failure (a missing Python module included: the caller's environment must provide grpcio,
grpcio-reflection and protobuf).
"""

import os
import sys

# This file's name is the grpc_reflection package's: keep its folder off the import path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import grpc  # noqa: E402
from google.protobuf import descriptor_pool, message_factory  # noqa: E402
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (  # noqa: E402
    ProtoReflectionDescriptorDatabase,
)

SERVICE = "maat.node.v1.NodeApi"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    channel = grpc.insecure_channel(sys.argv[1])
    grpc.channel_ready_future(channel).result(timeout=10)

    # Everything below comes from the reflection service.
    database = ProtoReflectionDescriptorDatabase(channel)
    services = database.get_services()
    for name in services:
        print(f"service: {name}")
    if SERVICE not in services:
        print(f"{SERVICE} is not listed", file=sys.stderr)
        return 1

    pool = descriptor_pool.DescriptorPool(database)
    service = pool.FindServiceByName(SERVICE)
    method = service.FindMethodByName("Status")
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)

    call = channel.unary_unary(
        f"/{SERVICE}/{method.name}",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    status = call(request_class(), timeout=10)
    print(f"chain_id: {status.chain_id}")
    print(f"height: {status.height}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
