#!/usr/bin/env python3
"""Generates a large kustomization tree for the benchmark: N bases of K objects each (with a
configMapGenerator), three overlay levels with prefixes, namespaces, labels, patches, images
and generator merges. Usage: gen_tree.py OUT_DIR [BASES] [OBJECTS_PER_BASE]"""
import os, sys

out = sys.argv[1]
bases = int(sys.argv[2]) if len(sys.argv) > 2 else 50
per = int(sys.argv[3]) if len(sys.argv) > 3 else 38

def w(path, text):
    p = os.path.join(out, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)

for b in range(bases):
    docs, res = [], []
    for i in range(per):
        kind = i % 4
        n = f"b{b}-o{i}"
        if kind == 0:
            docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {n}
  labels: {{app: {n}}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {n}}}
  template:
    metadata:
      labels: {{app: {n}}}
    spec:
      serviceAccountName: sa-{b}
      containers:
      - name: main
        image: nginx:1.{i}
        envFrom:
        - configMapRef: {{name: cfg-{b}}}
        ports:
        - containerPort: 8080
      volumes:
      - name: c
        configMap: {{name: cfg-{b}}}
""")
        elif kind == 1:
            docs.append(f"""apiVersion: v1
kind: Service
metadata:
  name: {n}
spec:
  selector: {{app: {n}}}
  ports:
  - port: 80
    targetPort: 8080
""")
        elif kind == 2:
            docs.append(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {n}
data:
  key: value-{i}
  script: |
    #!/bin/sh
    echo {n}
""")
        else:
            docs.append(f"""apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata:
  name: {n}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: b{b}-o{i-3}}}
  minReplicas: 1
  maxReplicas: 5
""")
    docs.append(f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa-{b}\n")
    w(f"bases/b{b}/resources.yaml", "---\n".join(docs))
    w(f"bases/b{b}/kustomization.yaml", f"""resources: [resources.yaml]
commonLabels:
  base: b{b}
configMapGenerator:
- name: cfg-{b}
  literals: [color=blue, index="{b}"]
""")

groups = 10
per_group = bases // groups
for g in range(groups):
    res = "\n".join(f"- ../../bases/b{b}" for b in range(g * per_group, (g + 1) * per_group))
    w(f"l1/g{g}/kustomization.yaml", f"""resources:
{res}
namePrefix: g{g}-
patches:
- patch: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          containers:
          - name: main
            resources:
              limits: {{cpu: 100m}}
  target:
    kind: Deployment
- patch: |
    - op: add
      path: /metadata/annotations
      value: {{level: one}}
  target:
    kind: Service
""")
for h in range(2):
    res = "\n".join(f"- ../../l1/g{g}" for g in range(h * groups // 2, (h + 1) * groups // 2))
    w(f"l2/h{h}/kustomization.yaml", f"""resources:
{res}
namespace: ns-{h}
commonLabels:
  half: h{h}
images:
- name: nginx
  newName: registry.example.com/nginx
""")
w("top/kustomization.yaml", """resources:
- ../l2/h0
- ../l2/h1
commonAnnotations:
  owner: bench
configMapGenerator:
- name: top-config
  literals: [a=b]
replicas:
- name: g0-b0-o0
  count: 3
""")
