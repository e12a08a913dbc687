"""Both Kubernetes overlays render with kustomize, validate against the schemas, keep the rules.

The rules (issue 5): every Deployment has the three probes on the right paths, limits, a locked
down securityContext, a PDB and an HPA (min 2) whose targets exist; the private key is mounted in
auth alone; ServiceAccounts mount no token; default deny, and only the allowed paths between pods.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from tools.services import SERVICE_NAMES

Obj = dict[str, Any]
Find = Callable[..., list[Obj]]

# The oldest Kubernetes the manifests are written for (HPA v2, PDB v1, NetworkPolicy endPort,
# all GA by 1.25), and the newest whose schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
# The Prometheus Operator's custom resources, in the base: checked by the tests below instead.
MONITORING_KINDS = {
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
# Custom resources of the operators prod relies on: no schema is bundled for them.
OPERATOR_KINDS = {
    "prod": {
        ("postgresql.cnpg.io/v1", "Cluster"),
        ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
        ("rabbitmq.com/v1beta1", "User"),
        ("rabbitmq.com/v1beta1", "Permission"),
        *MONITORING_KINDS,
    },
    "dev": MONITORING_KINDS,
}
ALERT_RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
NAMESPACES = {"dev": "suite-dev", "prod": "suite"}
# What prod expects to exist before the first apply (README), and what its operators create.
PROD_EXTERNAL = {
    ("Secret", "jwt-private-key"),
    ("ConfigMap", "jwt-public-keys"),
    ("Secret", "suite-amqp"),
    *{("Secret", f"{service}-db-app") for service in SERVICE_NAMES},  # CloudNativePG
    *{("Secret", f"{service}-cursor") for service in SERVICE_NAMES},
    ("Secret", "auth-device-token"),
}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
MONITORING_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
}
DEPLOYMENTS = (*SERVICE_NAMES, "gateway")
PRE_STOP_SECONDS = 5
UVICORN_GRACEFUL_SECONDS = 25  # shared.entrypoint: timeout_graceful_shutdown


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def env_of(container: Obj) -> dict[str, Obj]:
    return {item["name"]: item for item in container.get("env", [])}


def labels_match(selector: Obj, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels, matchExpressions In/NotIn/Exists) against labels."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        if operator == "In" and labels.get(key) not in expression["values"]:
            return False
        if operator == "NotIn" and labels.get(key) in expression["values"]:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def pods(objects: list[Obj]) -> list[tuple[str, dict[str, str]]]:
    """(owner name, pod labels) of every pod the overlay makes, operator-made ones included."""
    found = [
        (obj["metadata"]["name"], obj["spec"]["template"]["metadata"]["labels"])
        for obj in objects
        if obj["kind"] in WORKLOAD_KINDS
    ]
    for obj in objects:
        name = obj["metadata"]["name"]
        if obj["kind"] == "Cluster":  # CloudNativePG labels its instance pods so
            inherited = obj["spec"].get("inheritedMetadata", {}).get("labels", {})
            found.append(
                (name, {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance", **inherited})
            )
        if obj["kind"] == "RabbitmqCluster":  # and the RabbitMQ Cluster Operator so
            found.append(
                (name, {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "rabbitmq"})
            )
    return found


def test_every_overlay_renders_with_kubectl_kustomize(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    kinds = {obj["kind"] for obj in rendered[overlay]}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds
    assert {"ServiceAccount", "Job", "NetworkPolicy", "ConfigMap", "Namespace"} <= kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schemas(
    objects: list[Obj], overlay: str, version: str
) -> None:
    unvalidated = set()
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in OPERATOR_KINDS[overlay]:
            unvalidated.add((obj["apiVersion"], obj["kind"]))
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
    assert unvalidated == OPERATOR_KINDS[overlay]


def test_the_schema_check_rejects_a_broken_object() -> None:
    """The validator really looks: a misspelled field and a wrong type are refused."""
    deployment: Obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "broken"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i", "readinesProbe": {}}]},
            },
        },
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)
    deployment["spec"]["template"]["spec"]["containers"][0] = {"name": "c", "image": 3}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_everything_lands_in_the_overlays_namespace(objects: list[Obj], overlay: str) -> None:
    for obj in objects:
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == NAMESPACES[overlay]
        else:
            assert obj["metadata"].get("namespace") == NAMESPACES[overlay], obj["metadata"]


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_deployment_has_the_three_probes_on_the_right_paths(find: Find, name: str) -> None:
    (deployment,) = find("Deployment", name)
    (container,) = pod_spec(deployment)["containers"]
    ports = {port["name"] for port in container["ports"]}
    liveness, readiness = (
        ("/healthz", "/healthz") if name == "gateway" else ("/health/liveness", "/health/readiness")
    )
    expected = {"startupProbe": liveness, "livenessProbe": liveness, "readinessProbe": readiness}
    for probe, path in expected.items():
        assert container[probe]["httpGet"]["path"] == path, probe
        assert container[probe]["httpGet"]["port"] in ports, probe


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_deployment_has_requests_and_limits(find: Find, name: str) -> None:
    (deployment,) = find("Deployment", name)
    for container in pod_spec(deployment)["containers"]:
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), bound


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_suite_pods_are_locked_down(find: Find, kind: str) -> None:
    workloads = find(kind)
    assert workloads
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
            # A read-only root needs somewhere to write temporary files.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes, workload["metadata"]["name"]  # noqa: S108


def test_data_stores_run_as_non_root_too(find: Find) -> None:
    for workload in find("StatefulSet"):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert "readinessProbe" in container and "livenessProbe" in container


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_shutdown_drains_before_the_pod_is_killed(find: Find, service: str) -> None:
    """preStop pause, then the readiness-503 drain, then uvicorn's graceful stop, all in time."""
    (deployment,) = find("Deployment", service)
    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(PRE_STOP_SECONDS)]
    drain = float(env_of(container)[f"{service.upper()}_SHUTDOWN_DRAIN_SECONDS"]["value"])
    assert drain > 0
    needed = PRE_STOP_SECONDS + drain + UVICORN_GRACEFUL_SECONDS
    assert spec["terminationGracePeriodSeconds"] > needed


def test_gateway_pauses_before_stopping_too(find: Find) -> None:
    (deployment,) = find("Deployment", "gateway")
    (container,) = pod_spec(deployment)["containers"]
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_each_deployment_has_a_cpu_hpa_with_at_least_two_replicas(find: Find, name: str) -> None:
    (deployment,) = find("Deployment", name)
    # The HPA owns the count; a fixed `replicas` would fight it on every apply.
    assert "replicas" not in deployment["spec"]
    hpas = [
        hpa
        for hpa in find("HorizontalPodAutoscaler")
        if hpa["spec"]["scaleTargetRef"]["name"] == name
    ]
    assert len(hpas) == 1
    (hpa,) = hpas
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]


def test_every_hpa_targets_an_existing_deployment(find: Find) -> None:
    names = {d["metadata"]["name"] for d in find("Deployment")}
    for hpa in find("HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in names


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_each_deployment_has_a_pdb_that_selects_its_pods(find: Find, name: str) -> None:
    (deployment,) = find("Deployment", name)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    pdbs = [p for p in find("PodDisruptionBudget") if labels_match(p["spec"]["selector"], labels)]
    assert len(pdbs) == 1
    # With at least two replicas, one may go at a time and one always serves.
    assert pdbs[0]["spec"] == {**pdbs[0]["spec"], "maxUnavailable": 1}


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_each_deployment_has_a_service_on_its_named_port(find: Find, name: str) -> None:
    (deployment,) = find("Deployment", name)
    (service,) = find("Service", name)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels_match({"matchLabels": service["spec"]["selector"]}, labels)
    assert labels_match(deployment["spec"]["selector"], labels)
    (container,) = pod_spec(deployment)["containers"]
    ports = {port["name"] for port in container["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports


def test_service_accounts_mount_no_token(find: Find) -> None:
    accounts = {sa["metadata"]["name"]: sa for sa in find("ServiceAccount")}
    assert set(DEPLOYMENTS) <= set(accounts)
    for account in accounts.values():
        assert account["automountServiceAccountToken"] is False
    for kind in ("Deployment", "Job"):
        for workload in find(kind):
            assert pod_spec(workload)["serviceAccountName"] in accounts


def _secret_uses(workload: Obj) -> set[str]:
    spec = pod_spec(workload)
    used = {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
    for container in spec["containers"] + spec.get("initContainers", []):
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                used.add(ref["name"])
        used |= {e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e}
    return used


def test_the_private_key_is_mounted_in_auth_alone(objects: list[Obj], find: Find) -> None:
    private = {
        s["metadata"]["name"]
        for s in find("Secret")
        if s["metadata"]["name"].startswith("jwt-private-key")
    } or {"jwt-private-key"}  # prod: created outside the repository
    holders = [
        f"{w['kind']}/{w['metadata']['name']}"
        for w in objects
        if w["kind"] in WORKLOAD_KINDS and _secret_uses(w) & private
    ]
    assert holders == ["Deployment/auth"]
    (auth,) = find("Deployment", "auth")
    (container,) = pod_spec(auth)["containers"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "jwt-private")
    assert env_of(container)["AUTH_JWT_PRIVATE_KEY"]["value"].startswith(mount["mountPath"] + "/")


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_every_service_gets_the_public_key_set(find: Find, kind: str) -> None:
    for service in SERVICE_NAMES:
        name = service if kind == "Deployment" else f"{service}-migrate"
        (workload,) = find(kind, name)
        spec = pod_spec(workload)
        (container,) = spec["containers"]
        volume = next(v for v in spec["volumes"] if v["name"] == "jwt-public")
        assert volume["configMap"]["name"].startswith("jwt-public-keys")
        mount = next(m for m in container["volumeMounts"] if m["name"] == "jwt-public")
        path = env_of(container)[f"{service.upper()}_JWT_PUBLIC_KEYS"]["value"]
        assert path.startswith(mount["mountPath"] + "/")


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_service_uses_its_own_database_role_and_password(find: Find, service: str) -> None:
    for workload in (*find("Deployment", service), *find("Job", f"{service}-migrate")):
        (container,) = pod_spec(workload)["containers"]
        env = env_of(container)
        url = urlsplit(env[f"{service.upper()}_DATABASE_URL"]["value"])
        assert (url.username, url.password, url.path) == (service, None, f"/{service}")
        assert url.hostname == f"{service}-db-rw"
        secret = env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
        assert secret.startswith(f"{service}-db-app"), secret


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_service_signs_cursors_with_its_own_secret(find: Find, service: str) -> None:
    for workload in (*find("Deployment", service), *find("Job", f"{service}-migrate")):
        (container,) = pod_spec(workload)["containers"]
        ref = env_of(container)[f"{service.upper()}_CURSOR_SECRET"]["valueFrom"]["secretKeyRef"]
        assert ref["name"].startswith(f"{service}-cursor"), ref


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_services_are_scraped_by_annotation(find: Find, service: str) -> None:
    (deployment,) = find("Deployment", service)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    (container,) = pod_spec(deployment)["containers"]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }


def test_the_pod_monitor_scrapes_each_service_pod_where_the_annotations_say(
    find: Find, objects: list[Obj]
) -> None:
    (monitor,) = find("PodMonitor")
    spec = monitor["spec"]
    selected = {name for name, labels in pods(objects) if labels_match(spec["selector"], labels)}
    assert selected == set(SERVICE_NAMES)  # no gateway, no migration Job, no data store
    assert "namespaceSelector" not in spec  # its own namespace: the overlay's
    (endpoint,) = spec["podMetricsEndpoints"]
    assert (endpoint["path"], endpoint["honorLabels"]) == ("/metrics", True)
    for service in SERVICE_NAMES:
        (deployment,) = find("Deployment", service)
        (container,) = pod_spec(deployment)["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert str(ports[endpoint["port"]]) == annotations["prometheus.io/port"]
    # `up` of a pod that cannot be scraped still carries the service the alert rules group by.
    label = "__meta_kubernetes_pod_label_app_kubernetes_io_name"
    assert {"sourceLabels": [label], "targetLabel": "service"} in endpoint["relabelings"]


def test_the_prometheus_rule_is_the_local_alert_rules(find: Find) -> None:
    (rule,) = find("PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(ALERT_RULES.read_text())["groups"]


def test_env_references_are_defined_before_use(objects: list[Obj]) -> None:
    """Kubernetes expands $(VAR) only from variables listed earlier in the same container."""
    for workload in objects:
        if workload["kind"] not in WORKLOAD_KINDS:
            continue
        for container in pod_spec(workload)["containers"]:
            seen: set[str] = set()
            for item in container.get("env", []):
                for reference in re.findall(r"\$\(([A-Z0-9_]+)\)", item.get("value", "")):
                    assert reference in seen, f"{workload['metadata']['name']}: {reference}"
                seen.add(item["name"])


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_migrations_run_as_a_job_of_the_same_image(find: Find, service: str) -> None:
    (deployment,) = find("Deployment", service)
    (job,) = find("Job", f"{service}-migrate")
    (api,) = pod_spec(deployment)["containers"]
    (migrate,) = pod_spec(job)["containers"]
    assert migrate["image"] == api["image"]
    assert migrate["args"] == ["migrate"]
    assert api["args"][0] == "api"
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert "resources" in migrate


def test_revocation_urls_point_at_auth(find: Find) -> None:
    (auth_service,) = find("Service", "auth")
    port = auth_service["spec"]["ports"][0]["port"]
    for service in (s for s in SERVICE_NAMES if s != "auth"):
        (deployment,) = find("Deployment", service)
        (container,) = pod_spec(deployment)["containers"]
        url = env_of(container)[f"{service.upper()}_REVOCATIONS_URL"]["value"]
        assert url == f"http://auth:{port}/internal/v1/revocations"


def test_referenced_configmaps_and_secrets_exist(objects: list[Obj], overlay: str) -> None:
    """dev is self-contained; prod may lack only what the README says to create first."""
    present = {(o["kind"], o["metadata"]["name"]) for o in objects}
    missing = set()
    for workload in objects:
        if workload["kind"] not in WORKLOAD_KINDS:
            continue
        spec = pod_spec(workload)
        refs = []
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                secret = volume["secret"]
                refs.append(("Secret", secret["secretName"], secret.get("optional", False)))
            if "configMap" in volume:
                refs.append(("ConfigMap", volume["configMap"]["name"], False))
            if "persistentVolumeClaim" in volume:
                refs.append(
                    ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"], False)
                )
        for container in spec["containers"]:
            for item in container.get("env", []):
                source = item.get("valueFrom", {})
                for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    if key in source:
                        refs.append((kind, source[key]["name"], source[key].get("optional", False)))
        missing |= {(kind, name) for kind, name, optional in refs if not optional} - present
    assert missing == (PROD_EXTERNAL if overlay == "prod" else set())


def test_the_gateway_ships_the_k8s_config_rendered_for_the_overlays_namespace(
    objects: list[Obj], find: Find, gateway_renderer: ModuleType
) -> None:
    (deployment,) = find("Deployment", "gateway")
    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    config_volume = next(v for v in spec["volumes"] if "configMap" in v)
    (configmap,) = find("ConfigMap", config_volume["configMap"]["name"])
    mount = next(m for m in container["volumeMounts"] if m["name"] == config_volume["name"])
    assert container["args"] == ["-c", f"{mount['mountPath']}/nginx.conf"]
    namespace = deployment["metadata"]["namespace"]
    expected = gateway_renderer.render(target="k8s", k8s_namespace=namespace)
    assert configmap["data"]["nginx.conf"] == expected


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_gateway_balances_over_each_services_pods_through_a_headless_service(
    find: Find, name: str
) -> None:
    (deployment,) = find("Deployment", name)
    (headless,) = find("Service", f"{name}-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert not headless["spec"].get("publishNotReadyAddresses"), "only ready pods"
    (gateway,) = find("Deployment", "gateway")
    config_volume = next(v for v in pod_spec(gateway)["volumes"] if "configMap" in v)
    (configmap,) = find("ConfigMap", config_volume["configMap"]["name"])
    config = configmap["data"]["nginx.conf"]
    # A full name (nginx's resolver ignores search domains), asked again while running.
    fqdn = f"{name}-headless.{deployment['metadata']['namespace']}.svc.cluster.local"
    port = headless["spec"]["ports"][0]["port"]
    assert f"server {fqdn}:{port} resolve " in config
    assert "resolver kube-dns.kube-system.svc.cluster.local " in config
    assert f"zone {name}_service " in config


def test_images_are_the_suites_and_pinned(objects: list[Obj], overlay: str) -> None:
    for workload in objects:
        if workload["kind"] not in ("Deployment", "Job"):
            continue
        for container in pod_spec(workload)["containers"]:
            image = container["image"]
            repository, _, tag = image.rpartition(":")
            assert tag and tag != "latest", image
            name = workload["metadata"]["name"].removesuffix("-migrate")
            assert repository.endswith(f"suite/{name}"), image
            if overlay == "prod":
                assert "/" in repository.removesuffix(f"suite/{name}"), "prod pulls from a registry"


# --- NetworkPolicies -------------------------------------------------------------------------


def _policies_for(objects: list[Obj], labels: dict[str, str], direction: str) -> list[Obj]:
    policy_type = direction.capitalize()
    return [
        p
        for p in objects
        if p["kind"] == "NetworkPolicy"
        and policy_type in p["spec"]["policyTypes"]
        and labels_match(p["spec"]["podSelector"], labels)
    ]


def _peer_owners(objects: list[Obj], peer: Obj) -> set[str] | None:
    """The pods (by owner name) a peer admits in this namespace; None: beyond the namespace."""
    if "ipBlock" in peer or "namespaceSelector" in peer:
        return None
    return {owner for owner, labels in pods(objects) if labels_match(peer["podSelector"], labels)}


def test_default_deny_both_ways_and_dns(find: Find) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in find("NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = policies["allow-dns"]
    assert dns["podSelector"] == {}
    assert {p["port"] for p in dns["egress"][0]["ports"]} == {53}


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_only_the_gateway_reaches_a_services_http_port(
    objects: list[Obj], find: Find, service: str
) -> None:
    (deployment,) = find("Deployment", service)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    # The one exception, commented in base/network-policies.yaml: the other services load the
    # revocation snapshot from auth's /internal/v1/revocations.
    allowed = {"gateway"} | (set(SERVICE_NAMES) - {"auth"} if service == "auth" else set())
    callers: set[str] = set()
    for policy in _policies_for(objects, labels, "ingress"):
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{policy['metadata']['name']} admits anyone"
            for peer in rule["from"]:
                owners = _peer_owners(objects, peer)
                if owners is None:
                    # The other exception: Prometheus, from its own namespace, scraping /metrics.
                    assert peer == MONITORING_PEER, policy["metadata"]["name"]
                    callers.add("monitoring")
                else:
                    callers |= owners
    assert callers == allowed | {"monitoring"}


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_service_reaches_only_its_database_the_broker_and_dns(
    objects: list[Obj], find: Find, overlay: str, service: str
) -> None:
    databases = {f"{s}-db" for s in SERVICE_NAMES}
    for workload in (*find("Deployment", service), *find("Job", f"{service}-migrate")):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        reached: set[str] = set()
        for policy in _policies_for(objects, labels, "egress"):
            if policy["metadata"]["name"] == "allow-dns":
                continue
            for rule in policy["spec"].get("egress", []):
                if "to" not in rule:
                    # Beyond the cluster: prod's files service to S3 over HTTPS, and auth's API
                    # to its mail relay (SMTP) and OpenID providers (HTTPS); nothing else.
                    ports = [p["port"] for p in rule["ports"]]
                    if policy["metadata"]["name"] == "auth-to-mail-and-identity-providers":
                        assert workload["kind"] == "Deployment" and service == "auth"
                        assert ports == [25, 587, 465, 443]
                        continue
                    assert (overlay, policy["metadata"]["name"]) == (
                        "prod",
                        "files-to-object-storage",
                    )
                    assert ports == [443]
                    continue
                for peer in rule["to"]:
                    owners = _peer_owners(objects, peer)
                    assert owners is not None, policy["metadata"]["name"]
                    reached |= owners
        expected = {f"{service}-db", "rabbitmq"}
        if workload["kind"] == "Deployment":  # a migration needs neither
            expected |= {"redis"} if service == "auth" else {"auth"}
        assert reached & databases == {f"{service}-db"}
        assert reached == expected, workload["metadata"]["name"]


def test_the_gateway_reaches_only_the_services(objects: list[Obj], find: Find) -> None:
    (deployment,) = find("Deployment", "gateway")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    reached: set[str] = set()
    for policy in _policies_for(objects, labels, "egress"):
        if policy["metadata"]["name"] == "allow-dns":
            continue
        for rule in policy["spec"].get("egress", []):
            for peer in rule["to"]:
                reached |= _peer_owners(objects, peer) or set()
    assert reached == set(SERVICE_NAMES)


@pytest.mark.parametrize(
    ("store", "clients"),
    [
        *((f"{s}-db", {s, f"{s}-migrate"}) for s in SERVICE_NAMES),
        ("rabbitmq", {*SERVICE_NAMES, *(f"{s}-migrate" for s in SERVICE_NAMES)}),
        ("redis", {"auth"}),
    ],
)
def test_data_stores_admit_only_their_clients(
    objects: list[Obj], overlay: str, store: str, clients: set[str]
) -> None:
    (labels,) = [labels for owner, labels in pods(objects) if owner == store]
    if overlay == "prod" and store.endswith("-db"):
        clients = clients | {store}  # replication between the cluster's own instances
    callers: set[str] = set()
    client_ports = {"rabbitmq": 5672, "redis": 6379}.get(store, 5432)
    for policy in _policies_for(objects, labels, "ingress"):
        for rule in policy["spec"].get("ingress", []):
            if client_ports not in {p["port"] for p in rule.get("ports", [])}:
                continue  # operator and cluster-internal ports (prod)
            for peer in rule["from"]:
                callers |= _peer_owners(objects, peer) or set()
    assert callers == clients


# --- the overlays' own choices ---------------------------------------------------------------


def test_dev_stores_files_on_a_shared_read_write_many_volume(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = rendered["dev"]
    (claim,) = [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    (files,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "files"
    ]
    spec = pod_spec(files)
    (container,) = spec["containers"]
    env = env_of(container)
    assert env["FILES_STORAGE_BACKEND"]["value"] == "local"
    volume = next(v for v in spec["volumes"] if "persistentVolumeClaim" in v)
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert env["FILES_STORAGE_DIR"]["value"] == mount["mountPath"]


def test_prod_stores_files_in_s3(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["prod"]
    assert not [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    (files,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "files"
    ]
    env = env_of(pod_spec(files)["containers"][0])
    assert env["FILES_STORAGE_BACKEND"]["value"] == "s3"
    # Names of files_service.settings: FILES_ + the field name.
    for name in ("BUCKET", "REGION", "ENDPOINT_URL", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY"):
        assert f"FILES_S3_{name}" in env


def test_prod_databases_are_cloudnativepg_clusters_the_services_point_at(
    rendered: dict[str, list[Obj]],
) -> None:
    clusters = {o["metadata"]["name"]: o for o in rendered["prod"] if o["kind"] == "Cluster"}
    assert set(clusters) == {f"{s}-db" for s in SERVICE_NAMES}
    for service in SERVICE_NAMES:
        spec = clusters[f"{service}-db"]["spec"]
        assert spec["bootstrap"]["initdb"] == {"database": service, "owner": service}
        assert spec["instances"] >= 2
    (broker,) = [o for o in rendered["prod"] if o["kind"] == "RabbitmqCluster"]
    assert broker["metadata"]["name"] == "rabbitmq"  # the host in every AMQP_URL
    (user,) = [o for o in rendered["prod"] if o["kind"] == "User"]
    assert user["spec"]["importCredentialsSecret"]["name"] == "suite-amqp"


def test_dev_databases_mirror_prods_names(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["dev"]
    services = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"}
    for service in SERVICE_NAMES:
        assert f"{service}-db-rw" in services
        (db,) = [
            o
            for o in objects
            if o["kind"] == "StatefulSet" and o["metadata"]["name"] == f"{service}-db"
        ]
        env = env_of(pod_spec(db)["containers"][0])
        assert env["POSTGRES_USER"]["value"] == env["POSTGRES_DB"]["value"] == service
        assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"].startswith(
            f"{service}-db-app"
        )


def test_kustomize_refuses_a_broken_overlay(
    tmp_path: Path, kustomize: Callable[[Path], list[Obj]]
) -> None:
    """The render step is a real check: a missing resource fails it."""
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    with pytest.raises(AssertionError):
        kustomize(tmp_path)
