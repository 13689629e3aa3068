// Runs `cdk synth` offline (no AWS credentials, no lookups) and checks the synthesized templates:
// the EKS cluster and its node group, the load balancer controller, the IRSA role reading ECR,
// the CodeCommit and ECR repositories, the pipeline, and Flotilla's manifests as installed.
"use strict";

const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const YAML = require("yaml");

const root = path.join(__dirname, "..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "flotilla-cdk-"));

// No credentials, no region and no metadata service: the synth must not need AWS.
const env = { ...process.env };
for (const key of Object.keys(env)) {
  if (key.startsWith("AWS_") || key.startsWith("CDK_")) delete env[key];
}
Object.assign(env, {
  AWS_CONFIG_FILE: path.join(out, "no-aws-config"),
  AWS_SHARED_CREDENTIALS_FILE: path.join(out, "no-aws-credentials"),
  AWS_EC2_METADATA_DISABLED: "true",
  CDK_DISABLE_VERSION_CHECK: "1",
  CDK_DISABLE_CLI_TELEMETRY: "1",
});

const started = Date.now();
// The docs tell users to run their own controller image; the synth sets one to check it lands.
const image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/flotilla:test";
const cdkArgs = ["synth", "--quiet", "--no-notices", "--no-version-reporting", "--output", out, "-c", `flotillaImage=${image}`];
execFileSync(path.join(root, "node_modules", ".bin", "cdk"), cdkArgs, {
  cwd: root,
  env,
  stdio: ["ignore", "inherit", "inherit"],
});
console.log(`cdk synth: ${((Date.now() - started) / 1000).toFixed(1)}s`);

const template = (name) => JSON.parse(fs.readFileSync(path.join(out, `${name}.template.json`), "utf8"));
const cluster = template("dev-cluster");
const repos = template("flotilla-gitops-repos");

const ofType = (t, type) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const one = (t, type) => {
  const found = ofType(t, type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
  return found[0];
};

// Tokens (Ref, Fn::GetAtt, Fn::ImportValue) become TOKEN(...) text so a Fn::Join'ed manifest parses as JSON.
function render(value) {
  if (typeof value === "string") return value;
  if (value["Fn::Join"]) return value["Fn::Join"][1].map(render).join(value["Fn::Join"][0]);
  return `TOKEN(${JSON.stringify(value).replace(/"/g, "'")})`;
}

// --- The cluster: Kubernetes version, the managed node group, the AWS Load Balancer Controller.
const [, eksCluster] = one(cluster, "Custom::AWSCDK-EKS-Cluster");
assert.equal(eksCluster.Properties.Config.version, "1.34");
const [, nodegroup] = one(cluster, "AWS::EKS::Nodegroup");
assert.deepEqual(nodegroup.Properties.InstanceTypes, ["m5.large"]);
assert.deepEqual(nodegroup.Properties.ScalingConfig, { MinSize: 1, DesiredSize: 2, MaxSize: 3 });
const charts = ofType(cluster, "Custom::AWSCDK-EKS-HelmChart").map(([, r]) => r.Properties.Chart);
assert.ok(charts.includes("aws-load-balancer-controller"), `helm charts: ${charts}`);

// --- The IRSA role: trusted by the cluster's OIDC provider for flux-system/flotilla-controller only.
const irsaConditions = ofType(cluster, "Custom::AWSCDKCfnJson").filter(([, r]) => render(r.Properties.Value).includes("system:serviceaccount:flux-system:flotilla-controller"));
assert.equal(irsaConditions.length, 1, "one CfnJson holds the IRSA sub condition");
const [conditionsId, conditions] = irsaConditions[0];
assert.match(render(conditions.Properties.Value), /:aud":"sts\.amazonaws\.com"/);
const irsaRoles = ofType(cluster, "AWS::IAM::Role").filter(([, r]) =>
  r.Properties.AssumeRolePolicyDocument.Statement.some(
    (s) => s.Action === "sts:AssumeRoleWithWebIdentity" && JSON.stringify(s.Condition).includes(conditionsId),
  ),
);
assert.equal(irsaRoles.length, 1, "one role assumable with the controller's ServiceAccount token");
const [roleId] = irsaRoles[0];
const roleActions = ofType(cluster, "AWS::IAM::Policy")
  .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleId))
  .flatMap(([, p]) => p.Properties.PolicyDocument.Statement.flatMap((s) => [].concat(s.Action)));
for (const action of ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:ListImages"]) {
  assert.ok(roleActions.includes(action), `IRSA role lacks ${action}: ${roleActions}`);
}

// --- Flotilla: every object of `flotilla install --export` installed unchanged, the ServiceAccount
// annotated with the IRSA role; then the bootstrap sync objects for the fleet repository.
const installed = ofType(cluster, "Custom::AWSCDK-EKS-KubernetesResource").flatMap(([id, r]) =>
  JSON.parse(render(r.Properties.Manifest)).map((obj) => ({ id, obj })),
);
const key = (o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
const exported = YAML.parseAllDocuments(fs.readFileSync(path.join(root, "manifests", "flotilla.yaml"), "utf8"))
  .map((d) => d.toJS())
  .filter((o) => o && o.kind);
assert.ok(exported.length >= 10, `manifests/flotilla.yaml holds ${exported.length} objects`);
for (const want of exported) {
  const got = installed.find(({ obj }) => key(obj) === key(want));
  assert.ok(got, `${key(want)} from manifests/flotilla.yaml is not installed`);
  const runAs = exported.find((o) => o.kind === "Deployment").spec.template.spec.serviceAccountName;
  if (want.kind === "ServiceAccount" && want.metadata.name !== runAs) {
    const annotations = got.obj.metadata.annotations ?? {};
    assert.ok(!annotations["eks.amazonaws.com/role-arn"], `${key(want)} must not get the controller's IAM role`);
  }
  if (want.kind === "ServiceAccount" && want.metadata.name === runAs) {
    const arn = got.obj.metadata.annotations["eks.amazonaws.com/role-arn"];
    assert.ok(arn.includes(roleId) && arn.includes("Arn"), `ServiceAccount role annotation: ${arn}`);
    delete got.obj.metadata.annotations["eks.amazonaws.com/role-arn"];
    if (Object.keys(got.obj.metadata.annotations).length === 0) delete got.obj.metadata.annotations;
  }
  if (want.kind === "Deployment") {
    assert.notEqual(want.spec.template.spec.containers[0].image, image);
    want.spec.template.spec.containers[0].image = image;
  }
  // CDK labels what it applies so that it can prune objects later removed from a manifest.
  const labels = got.obj.metadata.labels ?? {};
  for (const label of Object.keys(labels)) if (label.startsWith("aws.cdk.eks/prune-")) delete labels[label];
  assert.deepEqual(got.obj, want, `${key(want)} differs from manifests/flotilla.yaml`);
}
const byKey = (k) => installed.find(({ obj }) => key(obj) === k);
const gitRepository = byKey("GitRepository/flux-system/flux-system");
const kustomization = byKey("Kustomization/flux-system/flux-system");
assert.ok(gitRepository && kustomization, "bootstrap sync objects installed");
assert.match(gitRepository.obj.spec.url, /TOKEN\(.*Fn::ImportValue.*FleetRepository.*CloneUrlHttp/);
assert.deepEqual(gitRepository.obj.spec.ref, { branch: "main" });
assert.deepEqual(gitRepository.obj.spec.secretRef, { name: "flux-system" });
assert.equal(kustomization.obj.spec.path, "./clusters/dev-cluster");
assert.equal(kustomization.obj.spec.prune, true);
// The sync objects are applied after the controller, which is applied after every CRD.
const deps = (id) => [].concat(cluster.Resources[id].DependsOn ?? []);
const controllerId = byKey("Deployment/flux-system/flotilla-controller").id;
assert.ok(deps(gitRepository.id).includes(controllerId), "sync objects wait for the controller");
for (const crd of installed.filter(({ obj }) => obj.kind === "CustomResourceDefinition")) {
  assert.ok(deps(controllerId).includes(crd.id), `controller waits for ${crd.obj.metadata.name}`);
}

// --- Repositories and CI.
const repoNames = ofType(repos, "AWS::CodeCommit::Repository").map(([, r]) => r.Properties.RepositoryName).sort();
assert.deepEqual(repoNames, ["app-repo", "flux-repo", "microservices-repo"]);
const [ecrId, ecrRepo] = one(repos, "AWS::ECR::Repository");
assert.equal(ecrRepo.Properties.RepositoryName, "sock-shop/front-end");
const [buildId, build] = one(repos, "AWS::CodeBuild::Project");
assert.equal(build.Properties.Environment.PrivilegedMode, true);
const vars = Object.fromEntries(build.Properties.Environment.EnvironmentVariables.map((v) => [v.Name, v.Value]));
assert.equal(vars.BRANCH, "main");
assert.ok(JSON.stringify(vars.REPOSITORY_URI).includes(ecrId), "REPOSITORY_URI is the ECR repository");
const buildspec = YAML.parse(build.Properties.Source.BuildSpec);
const commands = Object.values(buildspec.phases).flatMap((p) => p.commands);
assert.ok(commands.includes('IMAGE_TAG="${BRANCH}-${CODEBUILD_RESOLVED_SOURCE_VERSION:0:7}-${CODEBUILD_BUILD_NUMBER}"'), commands.join("\n"));
assert.ok(commands.includes('docker push "$REPOSITORY_URI:$IMAGE_TAG"'));
assert.equal(buildspec.env.shell, "bash", "the tag uses bash substring expansion");
const [, pipeline] = one(repos, "AWS::CodePipeline::Pipeline");
const stages = pipeline.Properties.Stages.map((s) => [s.Name, s.Actions.map((a) => a.ActionTypeId.Provider)]);
assert.deepEqual(stages, [
  ["Source", ["CodeCommit"]],
  ["Build", ["CodeBuild"]],
]);
assert.ok(JSON.stringify(pipeline.Properties.Stages[1].Actions[0].Configuration).includes(buildId));

fs.rmSync(out, { recursive: true, force: true });
console.log(`ok: cluster, node group, load balancer controller, IRSA role, ${installed.length} Kubernetes objects, 3 CodeCommit repositories, ECR, pipeline`);
