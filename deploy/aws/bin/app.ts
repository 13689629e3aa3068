#!/usr/bin/env node
// The CDK app: a repositories/CI stack and the EKS blueprint stack running Flotilla. Settings come
// from cdk.json's context (override with `-c key=value`).
import * as path from "path";
import { App, Environment } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as eks from "aws-cdk-lib/aws-eks";
import * as blueprints from "@aws-quickstart/eks-blueprints";
import { FlotillaAddOn } from "../lib/flotilla-addon";
import { GitOpsReposStack } from "../lib/gitops-repos-stack";

const app = new App();

function setting(key: string): string {
  const value = app.node.tryGetContext(key);
  if (value === undefined || value === null) {
    throw new Error(`context value '${key}' is not set: add it to cdk.json or pass -c ${key}=…`);
  }
  return String(value);
}

// The CLI sets CDK_DEFAULT_ACCOUNT/REGION from the credentials and profile it deploys with (the
// region falls back to us-east-1). Without an account (e.g. `cdk synth` offline) the stacks are
// account-agnostic, so nothing is looked up.
const env: Environment = {
  account: app.node.tryGetContext("account") ?? process.env.CDK_DEFAULT_ACCOUNT,
  region: app.node.tryGetContext("region") ?? process.env.CDK_DEFAULT_REGION ?? "us-west-2",
};

const repos = new GitOpsReposStack(app, "flotilla-gitops-repos", {
  env,
  description: "CodeCommit fleet/microservices/app repositories, ECR and the front-end CodePipeline (Flotilla EKS GitOps)",
  fleetRepositoryName: setting("fleetRepositoryName"),
  microservicesRepositoryName: setting("microservicesRepositoryName"),
  appRepositoryName: setting("appRepositoryName"),
  ecrRepositoryName: setting("ecrRepositoryName"),
  appBranch: setting("appBranch"),
});

const clusterName = setting("clusterName");
const version = eks.KubernetesVersion.of(setting("kubernetesVersion"));

// The walkthrough's capacity: one managed node group of two m5.large nodes (up to three).
const clusterProvider = new blueprints.MngClusterProvider({
  clusterName,
  version,
  minSize: 1,
  desiredSize: 2,
  maxSize: 3,
  instanceTypes: [new ec2.InstanceType("m5.large")],
  amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
  nodeGroupCapacityType: eks.CapacityType.ON_DEMAND,
});

const image = String(app.node.tryGetContext("flotillaImage") ?? "");

const blueprint = blueprints.EksBlueprint.builder()
  .account(env.account)
  .region(env.region)
  .version(version)
  .clusterProvider(clusterProvider)
  .addOns(
    new blueprints.addons.AwsLoadBalancerControllerAddOn(),
    new FlotillaAddOn({
      manifestPath: path.join(__dirname, "..", "..", "manifests", "flotilla.yaml"),
      fleetUrl: repos.fleetRepository.repositoryCloneUrlHttp,
      fleetBranch: setting("fleetBranch"),
      fleetPath: setting("fleetPath"),
      gitSecretName: setting("gitSecretName"),
      ecrRepositories: [repos.imageRepository],
      image: image === "" ? undefined : image,
    }),
  );

blueprint
  .buildAsync(app, clusterName, { description: "EKS cluster running Flotilla (Flotilla EKS GitOps walkthrough)" })
  .then((stack) => stack.addDependency(repos))
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
