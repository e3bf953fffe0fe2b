"""Reads cityhub's Open311 GeoReport v2 endpoint with a real, outside client: the `georeport`
package (PyPI), in JSON and in XML, against a running local stack.

Usage: georeport_check.py <gateway base URL> <stack data dir>
Creates reports through the JSON API (anonymously), closes one as the admin, then reads
discovery (georeport has no call for it: read with the same HTTP library it uses), the service
list, a service definition, lists with filters and single requests through georeport, and
checks that both formats say the same. Exits non-zero with a message on the first difference."""

import json
import pathlib
import sys
import urllib.request

import requests
import xmltodict
from georeport import GeoReport


def call(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def check(condition, message):
    if not condition:
        sys.exit("FAIL: " + message)


def as_list(value):
    return value if isinstance(value, list) else [value]


def main():
    base, data = sys.argv[1].rstrip("/"), pathlib.Path(sys.argv[2])
    root = base + "/open311/v2"
    report = {"service_code": "pothole", "lat": 52.0211, "long": 8.5347,
              "attributes": {"surface": "road"}, "description": "Schlagloch vor der Sparrenburg"}
    ids = [call(base, "POST", "/v1/requests", report)["request_id"] for _ in range(3)]
    admin = call(base, "POST", "/v1/sessions",
                 {"email": "admin@bielefeld.de",
                  "password": (data / "secrets" / "admin-password").read_text().strip()})
    for status in ("ACKNOWLEDGED", "IN_PROGRESS", "RESOLVED"):
        call(base, "POST", f"/v1/requests/{ids[0]}:transition",
             {"status": status, "public_note": "Erledigt"}, admin["access_token"])

    # Discovery, both formats.
    discovery = requests.get(root.rsplit("/v2", 1)[0] + "/discovery.json", timeout=10)
    if discovery.status_code == 404:
        discovery = requests.get(root + "/discovery.json", timeout=10)
    discovery.raise_for_status()
    endpoints = discovery.json()["endpoints"]
    check(any(e["specification"].lower().replace("-", "_").endswith("georeport_v2")
              for e in endpoints),
          f"discovery names no GeoReport v2 endpoint: {endpoints}")
    xml_discovery = requests.get(discovery.url.replace(".json", ".xml"), timeout=10)
    xml_discovery.raise_for_status()
    check("discovery" in xmltodict.parse(xml_discovery.content), "XML discovery has no root")

    clients = {fmt: GeoReport(root, output_format=fmt) for fmt in ("json", "xml")}
    seen = {}
    for fmt, client in clients.items():
        services = client.get_service_list()
        codes = {s["service_code"] for s in as_list(services)}
        check("pothole" in codes, f"{fmt}: no pothole among {sorted(codes)}")
        pothole = next(s for s in as_list(services) if s["service_code"] == "pothole")
        check(str(pothole["metadata"]).lower() == "true", f"{fmt}: pothole has no metadata")
        definition = client.get_service_definition("pothole")
        attributes = definition["attributes"]
        if fmt == "xml":
            attributes = as_list(attributes["attribute"])
        check(any(a["code"] == "surface" for a in attributes),
              f"{fmt}: the definition lacks the surface attribute: {definition}")

        open_ids = {r["service_request_id"]
                    for r in as_list(client.get_service_requests(service_code="pothole", status="open"))}
        closed_ids = {r["service_request_id"]
                      for r in as_list(client.get_service_requests(service_code="pothole", status="closed"))}
        check(set(ids[1:]) <= open_ids and ids[0] not in open_ids, f"{fmt}: open list {open_ids}")
        check(ids[0] in closed_ids and not set(ids[1:]) & closed_ids, f"{fmt}: closed list {closed_ids}")
        several = as_list(client.get_service_requests(service_request_id=",".join(ids[:2])))
        check({r["service_request_id"] for r in several} == set(ids[:2]),
              f"{fmt}: by ids {[r['service_request_id'] for r in several]}")
        one = client.get_service_request(ids[0])
        check(one["service_request_id"] == ids[0] and one["status"] == "closed",
              f"{fmt}: single request {one}")
        check(one["service_code"] == "pothole", f"{fmt}: service_code {one['service_code']}")
        seen[fmt] = {k: str(one[k]) for k in ("service_request_id", "status", "service_code",
                                                "requested_datetime", "lat", "long")}
    # Both formats say the same (numbers compared as numbers: XML carries text).
    for key in seen["json"]:
        a, b = seen["json"][key], seen["xml"][key]
        same = float(a) == float(b) if key in ("lat", "long") else a == b
        check(same, f"JSON and XML differ on {key}: {a!r} vs {b!r}")
    print(f"georeport: discovery, {len(codes)} services, a definition, open/closed/by-id lists and "
          f"single requests agree in JSON and XML")


if __name__ == "__main__":
    main()
