"""Validate certflow's deployment files (run through deploy/validate, which installs the pinned
validators of deploy/requirements.txt into a virtualenv first).

What it checks, offline:
- every YAML document under deploy/ (deploy/schemas/ excepted):
  - Kubernetes' own kinds against the JSON schemas bundled in kubernetes-validate, strictly
    (unknown fields refused), for each Kubernetes version in KUBERNETES_VERSIONS; a kind it has
    no schema for is an error, not a warning;
  - a SpinApp or SpinAppExecutor with check-jsonschema against the `openAPIV3Schema` of each
    CRD of its kind vendored in deploy/schemas/, made strict the way `kubectl apply`
    (server-side field validation, Strict) treats unknown fields;
  - certflow's own cross-checks: a SpinApp's variables are declared in spin.toml (Spin would
    silently ignore a misspelled SPIN_VARIABLE_*), every Secret key a manifest reads is in
    deploy/secrets.example.yaml, the sweep CronJob calls the Service of a SpinApp here, and
    what spin-operator's admission webhook checks (the executor exists, replicas > 0);
- every runtime config (deploy/runtime-config*.toml, ./runtime-config.toml, and a
  `runtime-config.toml` held by a Secret) with tomllib, against the keys Spin 4.0.2 reads.

`--self-test` first validates the real files (they must pass), then breaks copies of them one
way at a time in a temporary directory and requires each breakage to be reported, so that the
validation cannot pass by checking nothing.

Exit status: 0 when everything is valid (and every breakage was caught), 1 otherwise.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import kubernetes_validate
import yaml

# The oldest Kubernetes the manifests must suit (CronJob `timeZone` is GA since 1.27) and the
# newest kubernetes-validate bundles.
KUBERNETES_VERSIONS = ["1.27.0", kubernetes_validate.latest_version()]

# Spin 4.0.2: the top-level runtime-config keys some factor reads (crates/runtime-config,
# crates/factor-*/src/runtime_config); any other key stops `spin up`
# (TomlKeyTracker::validate_all_keys_used).
SPIN_TOP_LEVEL_KEYS = {
    "key_value_store",
    "sqlite_database",
    "llm_compute",
    "variables_provider",
    "config_provider",
    "state_dir",
    "log_dir",
    "max_instance_memory",
    "outbound_http",
    "outbound_networking",
    "client_tls",
}
# Spin 4.0.2's key-value store types (key_value_config_resolver) and, for the two certflow
# documents, the keys each reads (spin_key_value_spin::SpinKeyValueRuntimeConfig: `path`;
# spin_key_value_redis::RedisKeyValueRuntimeConfig: `url`). Spin ignores other keys in a store's
# table; here they are refused, since a misspelled `path` silently makes an in-memory store.
SPIN_KV_TYPES = {"spin", "redis", "azure_cosmos", "aws_dynamo"}
CERTFLOW_KV_KEYS = {"spin": {"type", "path"}, "redis": {"type", "url"}}

# A Service is named after its SpinApp, so the name must be an RFC 1035 label.
DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
SPIN_VARIABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# The scheduled calls: the daily sweep and the per-minute webhook dispatch.
SWEEP_URL = re.compile(r"https?://([^/:\s\"']+)(?::\d+)?/api/(?:certificates/sweep|webhooks/dispatch)")

# libyaml's loader where PyYAML has it (its wheels do): the CRDs are large.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Results of the slow checks, by their inputs, so that --self-test re-checks only what each
# breakage changed: CRD file digest -> parsed CRD; (document, schema) -> errors.
_CRD_CACHE: dict[str, tuple[str, str, dict[str, dict]]] = {}
_CHECK_CACHE: dict[tuple[str, ...], list[str]] = {}


@dataclass
class Report:
    """Errors found, each as `path: message`."""

    errors: list[str] = field(default_factory=list)
    checked: int = 0

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")


@dataclass
class Layout:
    """Where the files to validate are: `root` holds spin.toml and deploy/."""

    root: Path

    @property
    def deploy(self) -> Path:
        return self.root / "deploy"

    def yaml_files(self) -> list[Path]:
        schemas = self.deploy / "schemas"
        return sorted(
            p
            for p in self.deploy.rglob("*")
            if p.suffix in (".yaml", ".yml") and p.is_file() and schemas not in p.parents
        )

    def toml_files(self) -> list[Path]:
        files = sorted(self.deploy.glob("runtime-config*.toml"))
        top = self.root / "runtime-config.toml"
        if top.is_file():
            files.append(top)
        return files


def rel(layout: Layout, path: Path) -> str:
    try:
        return str(path.relative_to(layout.root))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# Runtime configs


def check_runtime_config_text(where: str, text: str, report: Report) -> None:
    """Parse `text` as a Spin runtime config and check it against the keys Spin 4.0.2 reads and
    what certflow needs (a `default` key-value store on SQLite with a path, or on Redis)."""
    report.checked += 1
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        report.error(where, f"not TOML: {e}")
        return
    for key in sorted(set(config) - SPIN_TOP_LEVEL_KEYS):
        report.error(where, f"`{key}` is not a runtime-config key Spin 4.0.2 reads (spin up refuses it)")
    stores = config.get("key_value_store")
    if not isinstance(stores, dict):
        report.error(where, "no [key_value_store.default]: certflow's components open the store `default`")
        return
    if "default" not in stores:
        report.error(where, "no [key_value_store.default]: certflow's components open the store `default`")
    for label, store in stores.items():
        at = f"{where}: [key_value_store.{label}]"
        if not isinstance(store, dict):
            report.error(at, "is not a table")
            continue
        kind = store.get("type")
        if kind not in SPIN_KV_TYPES:
            report.error(at, f"type {kind!r} is not one of Spin's store types {sorted(SPIN_KV_TYPES)}")
            continue
        if kind not in CERTFLOW_KV_KEYS:
            report.error(at, f"type {kind!r}: certflow documents only `spin` (SQLite) and `redis`")
            continue
        for key in sorted(set(store) - CERTFLOW_KV_KEYS[kind]):
            report.error(at, f"`{key}` is not a key of a `{kind}` store (Spin reads {sorted(CERTFLOW_KV_KEYS[kind])})")
        if kind == "spin":
            path = store.get("path")
            if not isinstance(path, str) or not path:
                report.error(at, "`path` missing: Spin would keep the store in memory and lose it on restart")
        else:
            check_redis_url(at, store.get("url"), report)


def check_redis_url(at: str, url: object, report: Report) -> None:
    if not isinstance(url, str) or not url:
        report.error(at, "`url` missing: a `redis` store needs `url = \"redis://...\"`")
        return
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("redis", "rediss"):
        report.error(at, f"url scheme {parsed.scheme!r}: use redis:// or rediss:// (TLS)")
    if not parsed.hostname:
        report.error(at, "url has no host")
    try:
        parsed.port
    except ValueError as e:
        report.error(at, f"url port: {e}")
    if parsed.path not in ("", "/") and not re.fullmatch(r"/\d+", parsed.path):
        report.error(at, f"url path {parsed.path!r}: only a database number, e.g. /0")


# ---------------------------------------------------------------------------------------------
# SpinApp CRDs


@dataclass
class Crd:
    source: str
    group: str
    kind: str
    versions: dict[str, dict]  # served version -> strict JSON schema
    digest: str  # of the CRD file


def strict_schema(node: object) -> object:
    """The CRD's structural schema as a JSON Schema that refuses unknown fields, as the API
    server does for `kubectl apply` with field validation Strict: every object that lists its
    `properties` and neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields`
    gets `additionalProperties: false`."""
    if isinstance(node, list):
        return [strict_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict_schema(value) for key, value in node.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def load_crds(layout: Layout, report: Report) -> list[Crd]:
    crds = []
    for path in sorted((layout.deploy / "schemas").rglob("*.yaml")):
        where = rel(layout, path)
        try:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest in _CRD_CACHE:
                crds.append(Crd(where, *_CRD_CACHE[digest], digest))
                continue
            doc = yaml.load(data, Loader=YAML_LOADER)
            spec = doc["spec"]
            versions = {}
            for version in spec["versions"]:
                if version.get("served"):
                    schema = version["schema"]["openAPIV3Schema"]
                    if "x-kubernetes-validations" in json.dumps(schema):
                        report.error(where, "has CEL rules (x-kubernetes-validations), which this check cannot apply")
                    versions[version["name"]] = strict_schema(schema)
            crds.append(Crd(where, spec["group"], spec["names"]["kind"], versions, digest))
            _CRD_CACHE[digest] = (spec["group"], spec["names"]["kind"], versions)
        except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
            report.error(where, f"not a CustomResourceDefinition this check can read: {e!r}")
    if not crds:
        report.error(rel(layout, layout.deploy / "schemas"), "no SpinApp CRD vendored: SpinApps cannot be checked")
    return crds


def check_custom_resource(where: str, doc: dict, crds: list[Crd], tmp: Path, report: Report) -> None:
    """Validate one custom resource against every vendored CRD of its kind, with
    check-jsonschema."""
    api_version = str(doc.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    matching = [c for c in crds if c.group == group and c.kind == doc.get("kind")]
    if not matching:
        report.error(where, f"no vendored CRD defines {doc.get('kind')} in {group} (deploy/schemas/)")
        return
    instance_json = json.dumps(doc, sort_keys=True)
    instance = tmp / "instance.json"
    instance.write_text(instance_json)
    for crd in matching:
        schema = crd.versions.get(version)
        if schema is None:
            report.error(where, f"{crd.source} serves no version {version!r} of {crd.kind}")
            continue
        key = ("crd", instance_json, crd.digest, version)
        if key not in _CHECK_CACHE:
            schema_file = tmp / "schema.json"
            schema_file.write_text(json.dumps(schema))
            result = subprocess.run(
                [str(Path(sys.executable).parent / "check-jsonschema"), "--schemafile", str(schema_file), str(instance)],
                capture_output=True,
                text=True,
            )
            detail = (result.stdout + result.stderr).strip().replace(str(instance), doc["kind"])
            _CHECK_CACHE[key] = [f"does not match {{source}}:\n{detail}"] if result.returncode != 0 else []
        for message in _CHECK_CACHE[key]:
            report.error(where, message.format(source=crd.source))


def check_metadata(where: str, doc: dict, report: Report) -> None:
    """What the CRD schema leaves open (`metadata: {type: object}`)."""
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        report.error(where, "no metadata")
        return
    for key in sorted(set(metadata) - {"name", "namespace", "labels", "annotations"}):
        report.error(where, f"metadata.{key} is not expected in a manifest")
    name = metadata.get("name")
    if not isinstance(name, str) or not DNS_1035_LABEL.match(name):
        report.error(where, f"metadata.name {name!r} must be an RFC 1035 label: the operator names a Service after it")
    for key in ("labels", "annotations"):
        value = metadata.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            report.error(where, f"metadata.{key} must map names to strings")


# ---------------------------------------------------------------------------------------------
# certflow's cross-checks


def spin_variables(layout: Layout, report: Report) -> set[str]:
    path = layout.root / "spin.toml"
    try:
        manifest = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        report.error(rel(layout, path), f"cannot read the application's variables: {e}")
        return set()
    variables = manifest.get("variables", {})
    return set(variables) if isinstance(variables, dict) else set()


def secret_refs(node: object) -> list[tuple[str, str]]:
    """Every (secret name, key) a manifest reads through `secretKeyRef`."""
    found = []
    if isinstance(node, dict):
        ref = node.get("secretKeyRef")
        if isinstance(ref, dict):
            found.append((str(ref.get("name")), str(ref.get("key"))))
        for value in node.values():
            found.extend(secret_refs(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(secret_refs(value))
    return found


def strings_in(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings_in(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings_in(v)]
    return []


def name_of(doc: dict) -> str | None:
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def cross_check(layout: Layout, docs: list[tuple[Path, dict]], report: Report) -> None:
    declared = spin_variables(layout, report)
    spinapps = {name_of(d) for _, d in docs if d.get("kind") == "SpinApp"} - {None}
    executors = {name_of(d) for _, d in docs if d.get("kind") == "SpinAppExecutor"} - {None}
    example = layout.deploy / "secrets.example.yaml"
    secrets: dict[str, set[str]] = {}
    for path, doc in docs:
        if path == example and doc.get("kind") == "Secret" and name_of(doc):
            keys = {k for field in ("data", "stringData") if isinstance(doc.get(field), dict) for k in doc[field]}
            secrets[str(name_of(doc))] = keys
    if not example.is_file():
        report.error(rel(layout, example), "missing: it documents the Secrets the manifests read")
    for path, doc in docs:
        where = f"{rel(layout, path)} ({doc.get('kind')} {name_of(doc)})"
        if doc.get("kind") == "SpinApp":
            spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
            # spin-operator's admission webhook (internal/webhook/spinapp_validating.go): the
            # executor must exist in the SpinApp's namespace; replicas >= 1 unless autoscaling,
            # and none with it.
            if spec.get("executor") not in executors:
                report.error(where, f"executor {spec.get('executor')!r} is not a SpinAppExecutor in deploy/ {sorted(executors)}")
            replicas = spec.get("replicas", 0)
            if spec.get("enableAutoscaling"):
                if replicas:
                    report.error(where, "replicas cannot be set when autoscaling is enabled (spin-operator refuses it)")
            elif not isinstance(replicas, int) or replicas < 1:
                report.error(where, f"replicas {replicas!r}: must be > 0 (spin-operator refuses it)")
            for variable in spec.get("variables") or []:
                name = variable.get("name") if isinstance(variable, dict) else None
                if not isinstance(name, str) or not SPIN_VARIABLE_NAME.match(name):
                    report.error(where, f"variable name {name!r}: Spin variables are lowercase letters, digits and _")
                elif name not in declared:
                    report.error(where, f"variable {name!r} is not in spin.toml [variables]; Spin would ignore it")
        if path == example:
            continue
        for name, key in secret_refs(doc):
            if name not in secrets:
                report.error(where, f"reads Secret {name!r}, which deploy/secrets.example.yaml does not show")
            elif key not in secrets[name]:
                report.error(where, f"reads key {key!r} of Secret {name!r}, which deploy/secrets.example.yaml does not have")
        if doc.get("kind") == "CronJob":
            hosts = [m.group(1) for s in strings_in(doc.get("spec")) for m in SWEEP_URL.finditer(s)]
            if not hosts:
                report.error(where, "calls neither /api/certificates/sweep nor /api/webhooks/dispatch")
            for host in hosts:
                if host.split(".")[0] not in spinapps:
                    report.error(where, f"calls host {host!r}, but the Service of a SpinApp is named after it: {sorted(spinapps)}")


# ---------------------------------------------------------------------------------------------
# The whole check


def validate(layout: Layout) -> Report:
    report = Report()
    crds = load_crds(layout, report)
    docs: list[tuple[Path, dict]] = []
    yaml_files = layout.yaml_files()
    if not yaml_files:
        report.error(rel(layout, layout.deploy), "no YAML files found")
    with tempfile.TemporaryDirectory(prefix="certflow-validate-") as tmp:
        for path in yaml_files:
            where = rel(layout, path)
            try:
                file_docs = [d for d in yaml.load_all(path.read_text(), Loader=YAML_LOADER) if d is not None]
            except yaml.YAMLError as e:
                report.error(where, f"not YAML: {e}")
                continue
            if not file_docs:
                report.error(where, "holds no document")
            for doc in file_docs:
                report.checked += 1
                if not isinstance(doc, dict) or not {"apiVersion", "kind", "metadata"} <= set(doc):
                    report.error(where, "a document without apiVersion, kind and metadata")
                    continue
                at = f"{where} ({doc['kind']} {name_of(doc)})"
                docs.append((path, doc))
                if "." in str(doc["apiVersion"]).split("/")[0] and not str(doc["apiVersion"]).split("/")[0].endswith(".k8s.io"):
                    check_metadata(at, doc, report)
                    check_custom_resource(at, doc, crds, Path(tmp), report)
                else:
                    check_kubernetes(at, doc, report)
                if doc["kind"] == "Secret":
                    string_data = doc.get("stringData")
                    for key, value in (string_data if isinstance(string_data, dict) else {}).items():
                        if key == "runtime-config.toml" and isinstance(value, str):
                            check_runtime_config_text(f"{at} stringData[{key}]", value, report)
    for path in layout.toml_files():
        try:
            text = path.read_text()
        except OSError as e:
            report.error(rel(layout, path), f"unreadable: {e}")
            continue
        check_runtime_config_text(rel(layout, path), text, report)
    cross_check(layout, docs, report)
    return report


def check_kubernetes(where: str, doc: dict, report: Report) -> None:
    """Validate one document of a Kubernetes kind, strictly, against each version's schema."""
    for version in KUBERNETES_VERSIONS:
        key = ("k8s", json.dumps(doc, sort_keys=True), version)
        if key not in _CHECK_CACHE:
            _CHECK_CACHE[key] = kubernetes_errors(doc, version)
        for message in _CHECK_CACHE[key]:
            report.error(where, message)


def kubernetes_errors(doc: dict, version: str) -> list[str]:
    try:
        kubernetes_validate.validate(copy.deepcopy(doc), version, strict=True)
    except kubernetes_validate.ValidationError as e:
        path = ".".join(str(p) for p in e.path)
        return [f"Kubernetes {e.version}: {path}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [e.message]
    except Exception as e:  # kubernetes-validate's own failures (bad schema, ...) fail too
        return [f"Kubernetes {version}: could not validate: {e!r}"]
    return []


# ---------------------------------------------------------------------------------------------
# Self-test: each breakage must be caught


@dataclass
class Breakage:
    name: str
    file: str  # relative to the root
    old: str
    new: str
    expect: str  # a fragment of the error it must produce


BREAKAGES = [
    Breakage("YAML syntax", "deploy/spinkube/spinapp.yaml", "  replicas: 3\n", "  replicas: 3\n   oops: [\n", "not YAML"),
    Breakage("SpinApp field of the wrong type", "deploy/spinkube/spinapp.yaml", "  replicas: 3\n", "  replicas: three\n", "'three' is not of type 'integer'"),
    Breakage("SpinApp unknown field", "deploy/spinkube/spinapp.yaml", "  replicas: 3\n", "  replicas: 3\n  replica: 3\n", "('replica' was unexpected)"),
    Breakage("SpinApp probe without a path", "deploy/spinkube/spinapp.yaml", "        path: /.well-known/spin/health\n      initialDelaySeconds: 2\n", "        httpHeaders: []\n      initialDelaySeconds: 2\n", "'path' is a required property"),
    Breakage("SpinApp without an image", "deploy/spinkube/spinapp.yaml", '  image: "ghcr.io/<org>/certflow:0.1.0"\n', "", "'image' is a required property"),
    Breakage("SpinApp resource quantity", "deploy/spinkube/spinapp.yaml", "      memory: 512Mi\n", "      memory: lots\n", "'lots' does not match"),
    Breakage("SpinApp wrong API version", "deploy/spinkube/spinapp.yaml", "core.spinkube.dev/v1alpha1", "core.spinkube.dev/v1", "serves no version"),
    Breakage("SpinApp variable not in spin.toml", "deploy/spinkube/spinapp.yaml", "    - name: operator_tokens\n", "    - name: operator_token\n", "not in spin.toml"),
    Breakage("SpinApp name not a Service name", "deploy/spinkube/spinapp.yaml", "  name: certflow\n", "  name: CertFlow\n", "RFC 1035"),
    Breakage("SpinApp reads a Secret key nobody has", "deploy/spinkube/spinapp.yaml", "          key: server_secret\n", "          key: server-secret\n", "server-secret"),
    Breakage("SpinApp with no replicas", "deploy/spinkube/spinapp.yaml", "  replicas: 3\n", "  replicas: 0\n", "must be > 0"),
    Breakage("SpinApp naming an executor deploy/ does not create", "deploy/spinkube/spinapp.yaml", "  executor: containerd-shim-spin\n", "  executor: containerd-shim-spin-v2\n", "not a SpinAppExecutor"),
    Breakage("SpinAppExecutor field of the wrong type", "deploy/spinkube/executor.yaml", "  createDeployment: true\n", "  createDeployment: sometimes\n", "'sometimes' is not of type 'boolean'"),
    Breakage("CronJob misspelled kind", "deploy/spinkube/sweep-cronjob.yaml", "kind: CronJob\n", "kind: CronJobs\n", "Couldn't find schema"),
    Breakage("CronJob unknown field", "deploy/spinkube/sweep-cronjob.yaml", "  concurrencyPolicy: Forbid\n", "  concurrencyPolicy: Forbid\n  concurrency: Forbid\n", "concurrency"),
    Breakage("CronJob field of the wrong type", "deploy/spinkube/sweep-cronjob.yaml", "      backoffLimit: 3\n", "      backoffLimit: three\n", "backoffLimit"),
    Breakage("CronJob calls a host that is not the app's Service", "deploy/spinkube/sweep-cronjob.yaml", "http://certflow/api", "http://certflw/api", "certflw"),
    Breakage("StatefulSet without a selector", "deploy/redis/valkey.yaml", "  selector:\n    matchLabels:\n", "  selectors:\n    matchLabels:\n", "select"),
    Breakage("Secret example with a broken runtime config", "deploy/secrets.example.yaml", "    url = \"redis://:FAKE", "    uri = \"redis://:FAKE", "`uri`"),
    Breakage("runtime config: unknown top-level key", "deploy/runtime-config.redis.toml", "[key_value_store.default]", "[key_value_stores.default]", "key_value_stores"),
    Breakage("runtime config: misspelled url", "deploy/runtime-config.redis.toml", 'url = "redis://127.0.0.1:6379"', 'uri = "redis://127.0.0.1:6379"', "url` missing"),
    Breakage("runtime config: not a Redis URL", "deploy/runtime-config.redis.toml", 'url = "redis://127.0.0.1:6379"', 'url = "http://127.0.0.1:6379"', "scheme"),
    Breakage("runtime config: SQLite without a path", "deploy/runtime-config.sqlite.toml", 'path = "/var/lib/certflow/sqlite_key_value.db"', 'paht = "/var/lib/certflow/sqlite_key_value.db"', "in memory"),
    Breakage("runtime config: not TOML", "deploy/runtime-config.sqlite.toml", 'type = "spin"', 'type = spin"', "not TOML"),
    Breakage("runtime config: unknown store type", "deploy/runtime-config.sqlite.toml", 'type = "spin"', 'type = "sqlite"', "store types"),
]


def self_test(layout: Layout) -> int:
    failures = []
    for b in BREAKAGES:
        with tempfile.TemporaryDirectory(prefix="certflow-selftest-") as tmp:
            copy_root = Path(tmp)
            shutil.copytree(layout.deploy, copy_root / "deploy")
            shutil.copy2(layout.root / "spin.toml", copy_root / "spin.toml")
            target = copy_root / b.file
            text = target.read_text()
            if text.count(b.old) != 1:
                failures.append(f"{b.name}: {b.file} does not contain {b.old!r} exactly once; update the self-test")
                continue
            target.write_text(text.replace(b.old, b.new))
            report = validate(Layout(copy_root))
            caught = [e for e in report.errors if b.file in e and b.expect in e]
            if not caught:
                failures.append(f"{b.name}: not caught (expected an error on {b.file} mentioning {b.expect!r}; got {report.errors})")
            else:
                print(f"  caught: {b.name}: {caught[0].splitlines()[0]}")
    for failure in failures:
        print(f"SELF-TEST FAILED: {failure}", file=sys.stderr)
    print(f"self-test: {len(BREAKAGES) - len(failures)} of {len(BREAKAGES)} breakages caught")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--self-test", action="store_true", help="also require deliberately broken copies to fail")
    args = parser.parse_args()
    layout = Layout(args.root.resolve())
    report = validate(layout)
    for error in report.errors:
        print(f"ERROR {error}", file=sys.stderr)
    files = len(layout.yaml_files()) + len(layout.toml_files())
    print(
        f"deploy/validate: {files} files, {report.checked} documents, Kubernetes {', '.join(KUBERNETES_VERSIONS)}: "
        f"{len(report.errors)} errors"
    )
    if report.errors:
        return 1
    if args.self_test:
        return self_test(layout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
