"""The deployment files, checked statically: deploy/Dockerfile, .dockerignore, deploy/docker-compose.yml,
deploy/.env.example, deploy/haproxy.cfg, deploy/k8s/ and docs/deploy.md.

Nothing here starts a container. The files are parsed and linted (yamllint), validated against their
schemas (the Kubernetes OpenAPI schema through ``kubernetes-validate``, offline; the Compose
Specification schema vendored in ``tests/data/compose-spec.json`` from compose-spec/compose-spec,
Apache-2.0), ``haproxy -c`` checks the proxy configuration, and the cross-file facts that make a
deployment work are asserted: variable names the settings know, commands the CLI parses, probes on the
right paths and port, selectors that match, a shutdown that outlasts the drain, no inlined secret.

Nothing is skipped: a missing tool (haproxy, openssl) fails with the command that installs it.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from bot.cli import build_parser
from bot.settings import ENV_VARS, Settings, SettingsError

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
HAPROXY_CFG = DEPLOY / "haproxy.cfg"
DOCS = REPO / "docs" / "deploy.md"
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"
KUBERNETES_VERSION = "1.30.0"

# Variables of the compose file itself (substituted by Compose), not settings of the bot.
COMPOSE_VARS = {"PUBLIC_URL", "POSTGRES_PASSWORD", "BOT_REPLICAS", "BOT_IMAGE"}
# Environment the image sets for Python and the shell, not read by Settings.
IMAGE_VARS = {
    "PATH",
    "HOME",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "HF_HUB_OFFLINE",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}
# Compose services that run the summit-bot image: their environment is read by Settings.
BOT_SERVICES = ("index", "bot", "webhook")
SECRET_VARS = {
    "TELEGRAM_BOT_TOKEN",
    "SUMMIT_WEBHOOK_SECRET",
    "SUMMIT_FEEDBACK_SALT",
    "SUMMIT_REDIS_URL",
    "SUMMIT_DATABASE_URL",
    "POSTGRES_PASSWORD",
}
# Valid stand-ins for the placeholders, to check that the other example values are valid settings.
VALID_SECRETS = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_",
    "SUMMIT_WEBHOOK_SECRET": "s3cret_-token",
    "SUMMIT_FEEDBACK_SALT": "a-random-salt-of-32-characters-x",
    "SUMMIT_REDIS_URL": "redis://localhost:6379/0",
    "SUMMIT_DATABASE_URL": "postgresql://summit:pw@localhost:5432/summit",
}
PLACEHOLDER = "REPLACE_ME"
SETTING_NAME = re.compile(r"\b(?:SUMMIT|TELEGRAM)_[A-Z0-9_]+\b")


# -- readers ------------------------------------------------------------------------------------


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml"))


def load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def k8s_docs() -> list[tuple[Path, dict]]:
    return [(p, doc) for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml" for doc in load_all(p)]


def k8s(kind: str, name: str | None = None) -> dict:
    found = [d for _, d in k8s_docs() if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''} in deploy/k8s/, found {len(found)}"
    return found[0]


def k8s_all(kind: str) -> list[dict]:
    return [d for _, d in k8s_docs() if d["kind"] == kind]


def read_env_file(path: Path) -> dict[str, str]:
    """VAR=value lines as Compose's env_file reads them (comments and blank lines ignored)."""
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert "=" in line, f"{path.name}:{number}: not VAR=value: {line!r}"
        name, _, value = line.partition("=")
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), f"{path.name}:{number}: bad variable name {name!r}"
        assert name not in values, f"{path.name}:{number}: {name} set twice"
        values[name] = value
    return values


_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$; an unset
    variable without a default is an error here (Compose would warn and substitute nothing)."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("braced") or m.group("plain")
        op, arg, current = m.group("op"), m.group("arg"), env.get(name)
        missing = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":-", "-"):
            return arg if missing else current
        if missing:
            raise AssertionError(f"${{{name}}} is neither set in deploy/.env.example nor given a default")
        return current

    return _INTERPOLATION.sub(sub, value)


def compose_raw() -> dict:
    (doc,) = load_all(COMPOSE)
    return doc


def compose(env: dict[str, str] | None = None) -> dict:
    """docker-compose.yml as Compose sees it with deploy/.env copied from .env.example."""
    return interpolate(compose_raw(), read_env_file(ENV_EXAMPLE) if env is None else env)


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        current += " " + stripped.removesuffix("\\").strip()
        if not stripped.endswith("\\"):
            lines.append(current.strip())
            current = ""
    result = []
    for line in lines:
        instruction, _, rest = line.partition(" ")
        result.append((instruction.upper(), rest.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile()
    last_from = max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM")
    return instructions[last_from:]


def dockerfile_env() -> dict[str, str]:
    env = {}
    for instruction, rest in dockerfile():
        if instruction == "ENV":
            for word in shlex.split(rest):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def haproxy_lines() -> list[str]:
    return [line.split("#", 1)[0].strip() for line in HAPROXY_CFG.read_text(encoding="utf-8").splitlines()]


def haproxy_section(header: str) -> list[str]:
    """The directives of one section ("defaults", "backend bots"...) of haproxy.cfg."""
    lines, inside = [], False
    for raw in HAPROXY_CFG.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line and not line[0].isspace():
            inside = line.strip() == header
            continue
        if inside and line.strip():
            lines.append(" ".join(line.split()))
    assert lines, f"haproxy.cfg has no section {header!r}"
    return lines


def seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", str(value).strip())
    assert m, f"not a duration: {value!r}"
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def default(field: str) -> Any:
    return Settings.model_fields[field].default


def pod_specs() -> list[tuple[str, dict]]:
    specs = [("Deployment " + d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in k8s_all("Deployment")]
    specs += [("Job " + d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in k8s_all("Job")]
    return specs


def container(kind: str, name: str | None = None) -> dict:
    (only,) = k8s(kind, name)["spec"]["template"]["spec"]["containers"]
    return only


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def writable_inside(data_dir: str, mounts: set[str]) -> bool:
    """The data dir lies strictly inside a writable volume: the bot creates it and makes it 0700 (bot/app.py),
    which a non-root process cannot do to a mount point owned by root (tmpfs, emptyDir)."""
    return any(Path(data_dir).is_relative_to(m) and Path(data_dir) != Path(m) for m in mounts)


def deployment_env() -> dict[str, str]:
    """What the bot pods' Settings read: the ConfigMap, valid stand-ins for the Secret, the pod's env."""
    env = dict(k8s("ConfigMap")["data"])
    env.update({k: VALID_SECRETS[k] for k in k8s("Secret")["stringData"]})
    env.update({e["name"]: e["value"] for e in container("Deployment").get("env", [])})
    return env


# -- every YAML file: parses, lints ---------------------------------------------------------------

YAMLLINT = YamlLintConfig("{extends: relaxed, rules: {line-length: {max: 120}}}")


def test_the_deployment_files_are_all_there() -> None:
    names = {p.relative_to(REPO).as_posix() for p in yaml_files()}
    assert {"deploy/docker-compose.yml", "deploy/k8s/deployment.yaml", "deploy/k8s/kustomization.yaml"} <= names
    assert len(names) >= 12, names
    for path in (DOCKERFILE, DOCKERIGNORE, ENV_EXAMPLE, HAPROXY_CFG, DOCS, COMPOSE_SCHEMA):
        assert path.is_file(), f"{path.relative_to(REPO)} is missing"


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_yaml_parses_and_passes_yamllint(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert load_all(path), f"{path.name} holds no YAML document"
    problems = [f"{path.name}:{p.line}:{p.column}: {p.level}: {p.message}" for p in linter.run(text, YAMLLINT)]
    assert not problems, "\n".join(problems)


# -- Kubernetes -----------------------------------------------------------------------------------


def test_kubernetes_manifests_validate_against_the_openapi_schema() -> None:
    errors = []
    for path, doc in k8s_docs():
        where = f"{path.name}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:  # an unknown kind or apiVersion is an error here
            errors.append(f"{where}: {exc.message}")
    assert not errors, "\n".join(errors)
    kinds = sorted(d["kind"] for _, d in k8s_docs())
    expected = ["ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"]
    expected += ["Job", "Job", "PersistentVolumeClaim", "Ingress"]
    assert kinds == sorted(expected)
    assert k8s("HorizontalPodAutoscaler")["apiVersion"] == "autoscaling/v2"
    assert k8s("PodDisruptionBudget")["apiVersion"] == "policy/v1"
    for _, doc in k8s_docs():
        assert "namespace" not in doc["metadata"], f"{doc['kind']} {doc['metadata']['name']} names a namespace"


def test_kustomization_applies_everything_but_the_secret_example_and_the_jobs() -> None:
    (kustomization,) = load_all(K8S / "kustomization.yaml")
    expected = {
        p.name
        for p in K8S.glob("*.yaml")
        if p.name not in ("kustomization.yaml", "secret.example.yaml") and not p.name.startswith("job-")
    }
    assert set(kustomization["resources"]) == expected


def test_probes_point_at_healthz_and_readyz_on_the_container_port() -> None:
    bot = container("Deployment")
    ports = {p["name"]: p["containerPort"] for p in bot["ports"]}
    listen = int(deployment_env().get("SUMMIT_PORT", default("port")))
    assert listen in ports.values(), f"the container listens on {listen} (SUMMIT_PORT), ports: {ports}"
    expected = {"startupProbe": "/readyz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    for probe, path in expected.items():
        get = bot[probe]["httpGet"]
        assert get["path"] == path, f"{probe} checks {get['path']}, not {path}"
        assert ports.get(get["port"], get["port"]) == listen, f"{probe} checks port {get['port']}, not {listen}"
    startup = bot["startupProbe"]
    budget = startup["failureThreshold"] * startup.get("periodSeconds", 10)
    assert budget >= 120, f"the startup probe gives the index only {budget} s to load"
    # The command listens on every interface (the kubelet probes the pod's IP).
    assert bot["command"][:4] == ["summit-bot", "serve", "--host", "0.0.0.0"]


def prestop_sleep(spec: dict) -> float:
    pre_stop = spec["lifecycle"]["preStop"]
    if "sleep" in pre_stop:
        return float(pre_stop["sleep"]["seconds"])
    command = pre_stop["exec"]["command"]
    assert command[0] in ("sleep", "/bin/sleep"), f"preStop is not a sleep: {command}"
    return seconds(command[-1])


def test_shutdown_outlasts_the_route_removal_and_the_drain() -> None:
    pod = k8s("Deployment")["spec"]["template"]["spec"]
    grace = pod["terminationGracePeriodSeconds"]
    sleep = prestop_sleep(container("Deployment"))
    lease = float(deployment_env().get("SUMMIT_UPDATE_LEASE", default("update_lease")))
    assert 0 < sleep < grace, f"preStop sleeps {sleep} s, terminationGracePeriodSeconds is {grace}"
    assert grace >= sleep + lease, f"{grace} s grace < {sleep} s preStop + {lease} s SUMMIT_UPDATE_LEASE drain"
    strategy = k8s("Deployment")["spec"]["strategy"]
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_selectors_and_targets_match() -> None:
    deployment = k8s("Deployment")
    name = deployment["metadata"]["name"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert matches(selector, pod_labels), "the Deployment's selector does not match its own pods"

    pdb = k8s("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == selector, "the PDB selects other pods than the Deployment"

    hpa = k8s("HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert [m["resource"]["name"] for m in hpa["metrics"] if m["type"] == "Resource"] == ["cpu"]
    assert "cpu" in container("Deployment")["resources"]["requests"], "CPU utilisation needs a CPU request"
    assert hpa["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["maxReplicas"]
    # Each pod takes SUMMIT_API_RATE / SUMMIT_PROCESSES: sized for the most pods the HPA may run.
    assert int(deployment_env()["SUMMIT_PROCESSES"]) == hpa["maxReplicas"]

    service = k8s("Service")
    assert matches(service["spec"]["selector"], pod_labels), "the Service does not select the bot pods"
    for job in k8s_all("Job"):
        job_labels = job["spec"]["template"]["metadata"]["labels"]
        assert not matches(service["spec"]["selector"], job_labels), f"the Service would route to {job['kind']}"
        assert not matches(selector, job_labels), "the Deployment's selector matches a Job's pods"
    port_names = {p["name"] for p in container("Deployment")["ports"]}
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in port_names | {p["containerPort"] for p in container("Deployment")["ports"]}

    ingress = k8s("Ingress")["spec"]
    (rule,) = ingress["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/telegram" and path["pathType"] == "Exact"
    backend = path["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"].get("name", backend["port"].get("number")) in (service_port["name"], service_port["port"])
    assert rule["host"] in ingress["tls"][0]["hosts"], "the Ingress host has no TLS certificate"
    # The webhook Job tells Telegram the Ingress's address.
    command = container("Job", "summit-bot-webhook")["command"]
    assert command[-1] == f"https://{rule['host']}/telegram", command


def test_the_index_volume_is_shared_read_only_with_the_bots() -> None:
    pvc = k8s("PersistentVolumeClaim")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"], "pods on several nodes mount the index"
    claim = pvc["metadata"]["name"]

    def mount_of(spec: dict, box: dict) -> tuple[dict, dict]:
        (volume,) = [v for v in spec["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName") == claim]
        (mount,) = [m for m in box["volumeMounts"] if m["name"] == volume["name"]]
        return volume, mount

    volume, mount = mount_of(k8s("Deployment")["spec"]["template"]["spec"], container("Deployment"))
    assert volume["persistentVolumeClaim"].get("readOnly") is True and mount.get("readOnly") is True
    assert deployment_env()["SUMMIT_INDEX_DIR"] == mount["mountPath"]

    job = k8s("Job", "summit-bot-index")
    volume, mount = mount_of(job["spec"]["template"]["spec"], container("Job", "summit-bot-index"))
    assert not mount.get("readOnly") and not volume["persistentVolumeClaim"].get("readOnly")
    command = container("Job", "summit-bot-index")["command"]
    assert command[command.index("--out") + 1] == mount["mountPath"]
    # The Job builds; it does not itself load a shipped index.
    assert "SUMMIT_INDEX_DIR" not in k8s("ConfigMap")["data"]


def test_pods_run_as_the_image_user_with_a_read_only_root() -> None:
    user = next(rest for ins, rest in reversed(final_stage()) if ins == "USER")
    uid = int(user.split(":")[0])
    for where, spec in pod_specs():
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] == uid, where
        assert spec.get("automountServiceAccountToken") is False, where
        for box in spec["containers"]:
            context = box["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            mounts = {m["mountPath"] for m in box["volumeMounts"]}
            # With a read-only root the process writes only to volumes: /tmp, HOME and the data dir in it.
            assert {"/tmp", dockerfile_env()["HOME"]} <= mounts, where
            assert writable_inside(dockerfile_env()["SUMMIT_DATA_DIR"], mounts), where


def test_kubernetes_example_values_are_valid_settings_and_placeholders_are_marked() -> None:
    Settings.from_env(deployment_env())  # raises SettingsError naming a bad ConfigMap value
    secret = k8s("Secret")
    assert "data" not in secret, "the example Secret must hold readable placeholders (stringData)"
    assert set(secret["stringData"]) == SECRET_VARS - {"POSTGRES_PASSWORD"}
    for name, value in secret["stringData"].items():
        assert PLACEHOLDER in value, f"the example Secret's {name} is not a {PLACEHOLDER} placeholder"
    for name, value in k8s("ConfigMap")["data"].items():
        assert name not in SECRET_VARS, f"{name} is a secret: it belongs in the Secret, not the ConfigMap"
        assert isinstance(value, str), f"ConfigMap value {name} must be a string"


# -- variable names and commands, across every file ------------------------------------------------


def deploy_texts() -> dict[str, str]:
    paths = [p for p in DEPLOY.rglob("*") if p.is_file()] + [DOCKERIGNORE, DOCS]
    return {p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8") for p in paths}


def test_every_setting_named_anywhere_is_one_the_settings_know() -> None:
    unknown = {
        f"{name}: {word}"
        for name, text in deploy_texts().items()
        for word in SETTING_NAME.findall(text)
        if word not in ENV_VARS
    }
    assert not unknown, f"not a variable of bot.settings (typo?): {sorted(unknown)}"


def test_bot_containers_get_only_settings_variables() -> None:
    known = set(ENV_VARS)
    example = read_env_file(ENV_EXAMPLE)
    assert set(example) - known <= COMPOSE_VARS, f".env.example: unknown {sorted(set(example) - known - COMPOSE_VARS)}"
    raw = COMPOSE.read_text(encoding="utf-8")
    for name in COMPOSE_VARS:
        assert "${" + name in raw, f"{name} is allowed as a compose variable but docker-compose.yml never uses it"
    services = compose()["services"]
    for service in BOT_SERVICES:
        names = set(services[service].get("environment", {}))
        assert names <= known, f"compose service {service}: unknown {sorted(names - known)}"
    for where, spec in pod_specs():
        for box in spec["containers"]:
            names = {e["name"] for e in box.get("env", [])}
            assert names <= known, f"{where}: unknown {sorted(names - known)}"
    assert set(k8s("ConfigMap")["data"]) <= known
    assert set(k8s("Secret")["stringData"]) <= known
    image = set(dockerfile_env())
    assert image <= known | IMAGE_VARS, f"Dockerfile ENV: unknown {sorted(image - known - IMAGE_VARS)}"


def deployed_commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of every summit-bot command the deployment runs."""
    commands = []
    cmd = next(rest for ins, rest in reversed(final_stage()) if ins == "CMD")
    commands.append(("Dockerfile CMD", json.loads(cmd)))
    for name, service in compose()["services"].items():
        if "command" in service and name in BOT_SERVICES:
            commands.append((f"compose {name}", service["command"]))
    for where, spec in pod_specs():
        for box in spec["containers"]:
            commands.append((where, box["command"] + box.get("args", [])))
    for where, argv in commands:
        assert isinstance(argv, list) and argv[0] == "summit-bot", f"{where}: {argv}"
    return commands


def test_the_cli_accepts_every_command_the_deployment_runs() -> None:
    """serve, index --out and webhook set must exist in bot/cli.py's parser, with these arguments."""
    used, rejected = set(), []
    for where, argv in deployed_commands():
        used.add(argv[1])
        try:
            args = build_parser().parse_args(argv[1:])
        except SystemExit:
            rejected.append(f"{where}: `{shlex.join(argv)}`")
            continue
        values = {str(v) for v in vars(args).values()}
        if argv[1] == "index":
            assert argv[argv.index("--out") + 1] in values, f"{where}: --out was not parsed"
        if argv[1] == "webhook":
            assert argv[2] == "set" and argv[3].endswith("/telegram") and argv[3] in values, where
    assert used == {"serve", "index", "webhook"}, used
    assert not rejected, "not accepted by bot/cli.py's parser:\n" + "\n".join(rejected)


# -- HAProxy --------------------------------------------------------------------------------------


def tool(name: str, package: str) -> str:
    path = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(p).is_file()), None)
    if path is None:
        pytest.fail(f"install {package}: sudo apt-get install {package}")
    return path


def test_haproxy_accepts_the_configuration(tmp_path: Path) -> None:
    haproxy = tool("haproxy", "haproxy")
    openssl = tool("openssl", "openssl")
    # The frontend terminates TLS: haproxy -c opens the certificate, so give it a throwaway one.
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    request += ["-subj", "/CN=bot.example.org", "-days", "1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        request,
        check=True,
        capture_output=True,
        timeout=30,
    )
    pem = tmp_path / "summit.pem"
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    # -dW: a warning is an error too.
    result = subprocess.run(
        [haproxy, "-dW", "-c", "-f", str(HAPROXY_CFG)],
        env={"HAPROXY_TLS_CERT": str(pem), "PATH": "/usr/sbin:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_haproxy_routes_to_ready_replicas_and_outwaits_an_update() -> None:
    defaults, backend = haproxy_section("defaults"), haproxy_section("backend bots")
    frontend = haproxy_section("frontend telegram")
    assert "mode http" in defaults
    assert "balance roundrobin" in backend
    assert "option httpchk GET /readyz" in backend
    assert "http-check expect status 200" in backend
    (template,) = [line for line in backend if line.startswith("server-template ")]
    host, port = template.split()[-1].rsplit(":", 1)
    assert host == "bot" and host in compose()["services"], "server-template must name the compose service"
    assert int(port) == default("port"), "server-template port is not the one `serve` listens on"
    default_server = next(line for line in backend if line.startswith("default-server "))
    assert "check" in default_server.split() and "resolvers docker" in default_server
    assert "nameserver dns 127.0.0.11:53" in haproxy_section("resolvers docker"), "Docker's embedded DNS"

    timeouts = {line.split()[1]: seconds(line.split()[2]) for line in defaults if line.startswith("timeout ")}
    lease = float(read_env_file(ENV_EXAMPLE).get("SUMMIT_UPDATE_LEASE", default("update_lease")))
    assert timeouts["server"] > lease, f"timeout server {timeouts['server']} s <= SUMMIT_UPDATE_LEASE {lease} s"
    assert timeouts["client"] >= timeouts["server"]
    # A POST is retried on another replica only with the update lease said to be the reason.
    text = HAPROXY_CFG.read_text(encoding="utf-8")
    retry = next(line for line in defaults if line.startswith("retry-on "))
    assert "response-timeout" not in retry and "all-retryable-errors" not in retry
    comment = text[: text.index("retry-on ")].rsplit("\n\n", 1)[-1]
    assert "POST" in comment and "lease" in comment, "the retry-on line must say why retrying a POST is safe"

    (bind,) = [line for line in frontend if line.startswith("bind ")]
    assert " ssl " in bind and "crt" in bind, "Telegram calls webhooks over HTTPS only"
    listen = int(re.match(r"bind \S*:(\d+)", bind).group(1))
    ports = [str(p) for p in compose()["services"]["haproxy"]["ports"]]
    assert any(p.split(":")[-1] == str(listen) for p in ports), f"haproxy listens on {listen}, compose: {ports}"
    assert any("deny" in line and "/telegram" in line for line in frontend), "only /telegram is public"


# -- Compose --------------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    for label, doc in (("as written", compose_raw()), ("after substitution", compose())):
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, f"{label}: " + "; ".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_compose_services_start_in_order_with_healthy_stores() -> None:
    services = compose()["services"]
    assert set(services) == {"valkey", "postgres", "index", "bot", "haproxy", "webhook"}
    assert services["valkey"]["image"].startswith("valkey/valkey:")
    assert "valkey-cli" in services["valkey"]["healthcheck"]["test"]
    assert services["postgres"]["image"].split(":")[1].startswith("16")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert re.fullmatch(r"haproxy:2\.\d+.*", services["haproxy"]["image"])
    assert any(v.startswith("./haproxy.cfg:") for v in services["haproxy"]["volumes"])

    conditions = {name: {k: v["condition"] for k, v in s.get("depends_on", {}).items()} for name, s in services.items()}
    assert conditions["index"] == {"postgres": "service_healthy"}
    assert conditions["bot"] == {
        "valkey": "service_healthy",
        "postgres": "service_healthy",
        "index": "service_completed_successfully",
    }
    assert conditions["webhook"]["bot"] == "service_healthy"
    for one_shot in ("index", "webhook"):
        assert services[one_shot]["restart"] == "no"
        assert services[one_shot]["healthcheck"] == {"disable": True}, "the image's /healthz check means nothing here"
    assert services["webhook"]["command"][1:3] == ["webhook", "set"]
    assert services["webhook"]["command"][3] == read_env_file(ENV_EXAMPLE)["PUBLIC_URL"] + "/telegram"
    # The stores are on an internal network only.
    assert compose()["networks"]["stores"] == {"internal": True}
    assert "ports" not in services["valkey"] and "ports" not in services["postgres"]


def test_compose_replicas_share_the_api_budget_and_the_index_read_only() -> None:
    without = {k: v for k, v in read_env_file(ENV_EXAMPLE).items() if k != "BOT_REPLICAS"}
    bot = compose(without)["services"]["bot"]
    assert int(bot["deploy"]["replicas"]) == 2, "two replicas by default"
    raw = compose_raw()["services"]["bot"]
    assert str(raw["environment"]["SUMMIT_PROCESSES"]) == str(raw["deploy"]["replicas"]), "one expression for both"
    for value in ("5", "1"):
        bot = compose({**without, "BOT_REPLICAS": value})["services"]["bot"]
        assert bot["environment"]["SUMMIT_PROCESSES"] == bot["deploy"]["replicas"] == value

    services = compose()["services"]
    index_dir = services["bot"]["environment"]["SUMMIT_INDEX_DIR"]
    assert f"index:{index_dir}:ro" in services["bot"]["volumes"]
    out = services["index"]["command"][services["index"]["command"].index("--out") + 1]
    assert f"index:{out}" in services["index"]["volumes"] and out == index_dir
    assert services["bot"]["read_only"] is True
    assert {"/tmp", dockerfile_env()["HOME"]} <= set(services["bot"]["tmpfs"])
    assert writable_inside(dockerfile_env()["SUMMIT_DATA_DIR"], set(services["bot"]["tmpfs"]))
    lease = float(read_env_file(ENV_EXAMPLE).get("SUMMIT_UPDATE_LEASE", default("update_lease")))
    assert seconds(services["bot"]["stop_grace_period"]) > lease, "stop_grace_period must outlast the drain"


def test_compose_inlines_no_secret() -> None:
    raw = compose_raw()["services"]
    for name, service in raw.items():
        if name in BOT_SERVICES:
            assert service["env_file"] == ".env", f"{name}: secrets come from deploy/.env (env_file)"
        for var, value in (service.get("environment") or {}).items():
            value = str(value)
            if var in SECRET_VARS and "://" not in value:
                assert value.startswith("${") and value.endswith("}"), f"{name}: {var} is inlined: {value!r}"
            assert not re.search(r"://[^:/@\s]*:(?!\$\{)[^@\s]+@", value), f"{name}: {var} holds a password"


def test_env_example_holds_placeholders_and_valid_settings() -> None:
    example = read_env_file(ENV_EXAMPLE)
    for name in SECRET_VARS & set(example):
        assert example[name].startswith(PLACEHOLDER), f".env.example: {name} is not a {PLACEHOLDER} placeholder"
    # Forgetting to replace the token or the webhook secret fails at start-up, not in production.
    with pytest.raises(SettingsError):
        Settings.from_env({"TELEGRAM_BOT_TOKEN": example["TELEGRAM_BOT_TOKEN"]}).require_token()
    with pytest.raises(SettingsError):
        Settings.from_env({"SUMMIT_WEBHOOK_SECRET": example["SUMMIT_WEBHOOK_SECRET"]})
    # Everything else, as the bot containers get it, is valid.
    env = {k: v for k, v in example.items() if k not in COMPOSE_VARS}
    env.update(compose()["services"]["bot"]["environment"])
    env.update({k: v for k, v in VALID_SECRETS.items() if k in env})
    Settings.from_env(env)


# -- the image ------------------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_serve_image() -> None:
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    instructions = dockerfile()
    assert any(ins == "RUN" and "pip install '.[scale]'" in rest for ins, rest in instructions)
    user = next(rest for ins, rest in reversed(stage) if ins == "USER")
    assert user.split(":")[0] not in ("root", "0"), "the image must not run as root"
    healthcheck = next(rest for ins, rest in stage if ins == "HEALTHCHECK")
    assert "/healthz" in healthcheck and "SUMMIT_PORT" in healthcheck
    assert dockerfile_env().get("SUMMIT_PORT", str(default("port"))) == str(default("port"))
    cmd = next(rest for ins, rest in reversed(stage) if ins == "CMD")
    assert json.loads(cmd) == ["summit-bot", "serve", "--host", "0.0.0.0"]
    expose = next(rest for ins, rest in stage if ins == "EXPOSE")
    assert expose == str(default("port"))


def test_dockerignore_lets_in_what_the_image_copies_and_nothing_secret() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", ".dockerignore is an allow-list: everything out, then what the image needs"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for ins, rest in dockerfile():
        if ins == "COPY" and "--from=" not in rest:
            sources = rest.split()[:-1]
            assert set(sources) <= allowed, f"COPY {rest}: {set(sources) - allowed} is kept out by .dockerignore"
    assert not allowed & {".env", ".venv", "data", "deploy", ".git"}, allowed


# -- the operator's guide -------------------------------------------------------------------------


def test_docs_describe_every_variable_and_take_their_figures_from_the_benchmarks() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([A-Z_][A-Z0-9_]*)` \|", text, flags=re.MULTILINE))
    missing = set(ENV_VARS) - rows
    assert not missing, f"docs/deploy.md's variable table lacks {sorted(missing)}"
    for heading in ("## Sizing", "## What breaks at which load"):
        assert heading in text, f"docs/deploy.md has no {heading!r} section"
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        # Figures are the benchmark report's (dated), never invented on this page.
        assert "docs/benchmarks.md" in section or "benchmarks.md" in section, heading
        assert "measured figures: see" not in section, f"{heading}: a placeholder was left"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/deploy.md" in readme
