#!/usr/bin/env python3
"""Turns cityhub's HTTP mapping (the `cityhub.api.http` method option) into what the peers read.

    http_rules.py DESCRIPTORS.pb OUT_DIR

DESCRIPTORS.pb is `protoc --include_imports --descriptor_set_out` of cityhub's public protos
and of proto/peers/google/api/{http,annotations}.proto. Writes into OUT_DIR:
  - envoy.pb: the same descriptors with every mapped method also carrying `google.api.http`
    (what Envoy's gRPC-JSON transcoder reads), the service files importing
    google/api/annotations.proto;
  - grpc_api_configuration.yaml: the same rules as a google.api.Service, for grpc-gateway;
  - services.txt: the fully qualified names of the services with at least one rule.

Only routes both peers can express are written: unary methods with a JSON body or none
(server streams, which cityhub serves as SSE, and raw HttpBody uploads are left out).
"""
import json
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HTTP_OPTION = "cityhub.api.http"
GOOGLE_HTTP = "google.api.http"
PUBLIC_PACKAGES = ("cityhub.accounts.v1", "cityhub.requests.v1", "cityhub.notifications.v1")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, out = sys.argv[1], sys.argv[2]
    files = descriptor_pb2.FileDescriptorSet.FromString(open(source, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in files.file:
        pool.Add(f)
    options_class = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("google.protobuf.MethodOptions"))
    ours = pool.FindExtensionByName(HTTP_OPTION)
    theirs = pool.FindExtensionByName(GOOGLE_HTTP)

    rules, services = [], []
    for f in files.file:
        if f.package not in PUBLIC_PACKAGES:
            continue
        touched = False
        for service in f.service:
            full_service = f"{f.package}.{service.name}"
            for method in service.method:
                options = options_class.FromString(method.options.SerializeToString())
                if not options.HasExtension(ours) or method.server_streaming:
                    continue
                rule = options.Extensions[ours]
                verb = rule.WhichOneof("pattern")
                if verb is None or "HttpBody" in method.input_type:
                    continue
                path = getattr(rule, verb)
                options.Extensions[theirs].selector = f"{full_service}.{method.name}"
                setattr(options.Extensions[theirs], verb, path)
                if rule.body:
                    options.Extensions[theirs].body = rule.body
                method.options.ParseFromString(options.SerializeToString())
                rules.append((f"{full_service}.{method.name}", verb, path, rule.body))
                if full_service not in services:
                    services.append(full_service)
                touched = True
        if touched and "google/api/annotations.proto" not in f.dependency:
            f.dependency.append("google/api/annotations.proto")

    # Every file after the files it imports (the service files now import annotations.proto,
    # which protoc listed after them): Envoy builds its pool in this order.
    ordered, placed = [], set()
    def place(f):
        if f.name in placed:
            return
        placed.add(f.name)
        for dep in f.dependency:
            place(next(g for g in files.file if g.name == dep))
        ordered.append(f)
    for f in files.file:
        place(f)
    envoy = descriptor_pb2.FileDescriptorSet()
    envoy.file.extend(ordered)
    with open(f"{out}/envoy.pb", "wb") as pb:
        pb.write(envoy.SerializeToString())
    with open(f"{out}/grpc_api_configuration.yaml", "w") as yaml:
        yaml.write("type: google.api.Service\nconfig_version: 3\nhttp:\n  rules:\n")
        for selector, verb, path, body in rules:
            # JSON strings are valid YAML scalars: no quoting rules to get wrong.
            yaml.write(f"  - selector: {json.dumps(selector)}\n    {verb}: {json.dumps(path)}\n")
            if body:
                yaml.write(f"    body: {json.dumps(body)}\n")
    with open(f"{out}/services.txt", "w") as names:
        names.write("\n".join(services) + "\n")
    print(f"http_rules: {len(rules)} routes of {len(services)} services")


if __name__ == "__main__":
    main()
