// Installs Flotilla on the blueprint's cluster from `flotilla install --export` output, gives the
// controller's ServiceAccount an IAM role (IRSA) that reads ECR, and creates the bootstrap sync
// objects (GitRepository + Kustomization `flux-system`) for the fleet repository.
import * as fs from "fs";
import { CfnJson, Stack } from "aws-cdk-lib";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as eks from "aws-cdk-lib/aws-eks";
import * as iam from "aws-cdk-lib/aws-iam";
import * as blueprints from "@aws-quickstart/eks-blueprints";
import { Construct } from "constructs";
import * as YAML from "yaml";

/** A Kubernetes object as the manifest file holds it. */
type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; [field: string]: unknown };

export interface FlotillaAddOnProps {
  /** `flotilla install --export` output (deploy/aws/manifests/flotilla.yaml). */
  readonly manifestPath: string;
  /** HTTPS clone URL of the fleet repository (CodeCommit). */
  readonly fleetUrl: string;
  /** Branch the cluster follows. */
  readonly fleetBranch: string;
  /** Directory of the cluster in the fleet repository, e.g. `clusters/dev-cluster`. */
  readonly fleetPath: string;
  /** Secret holding the CodeCommit HTTPS Git credentials (created with `flotilla create secret git`). */
  readonly gitSecretName: string;
  /** ECR repositories the controller may scan (images it may read). */
  readonly ecrRepositories: ecr.IRepository[];
  /** Controller image to run instead of the one the manifests name. */
  readonly image?: string;
}

/** The IRSA annotation the EKS Pod Identity webhook reads to inject AWS_ROLE_ARN and the token file. */
export const ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";

export class FlotillaAddOn implements blueprints.ClusterAddOn {
  readonly id = "flotilla";

  constructor(private readonly props: FlotillaAddOnProps) {}

  deploy(clusterInfo: blueprints.ClusterInfo): Promise<Construct> {
    const cluster = clusterInfo.cluster;
    const stack = Stack.of(cluster);
    const objects = loadManifests(this.props.manifestPath);

    // The role goes to the account the controller runs as (the install also creates Flux's
    // kustomize-controller account, which Kustomizations impersonate and must not get it).
    const deployment = objects.find((o) => o.kind === "Deployment");
    const runAs = (deployment?.spec as { template?: { spec?: { serviceAccountName?: string } } } | undefined)
      ?.template?.spec?.serviceAccountName;
    const serviceAccount = objects.find((o) => o.kind === "ServiceAccount" && o.metadata.name === runAs);
    if (!serviceAccount || !deployment) {
      throw new Error(`${this.props.manifestPath}: no ServiceAccount or Deployment; regenerate it with scripts/regenerate-manifests.sh`);
    }
    const namespace = serviceAccount.metadata.namespace ?? "flux-system";

    const role = ecrReadRole(stack, cluster, namespace, serviceAccount.metadata.name, this.props.ecrRepositories);
    serviceAccount.metadata.annotations = { ...(serviceAccount.metadata.annotations ?? {}), [ROLE_ANNOTATION]: role.roleArn };
    if (this.props.image) {
      setImage(deployment, this.props.image);
    }

    // One manifest per CRD: each custom resource stays well under the Lambda payload limit, and
    // the controller objects wait for all of them.
    const crds = objects
      .filter((o) => o.kind === "CustomResourceDefinition")
      .map((crd) => new eks.KubernetesManifest(stack, `FlotillaCrd-${crd.metadata.name}`, { cluster, manifest: [crd], overwrite: true }));
    const controller = new eks.KubernetesManifest(stack, "FlotillaController", {
      cluster,
      manifest: objects.filter((o) => o.kind !== "CustomResourceDefinition"),
      overwrite: true,
    });
    crds.forEach((crd) => controller.node.addDependency(crd));

    const sync = new eks.KubernetesManifest(stack, "FlotillaSync", {
      cluster,
      manifest: syncObjects(namespace, this.props),
      overwrite: true,
    });
    sync.node.addDependency(controller);
    return Promise.resolve(sync);
  }
}

/** Every object of a multi-document YAML file, empty documents skipped. */
export function loadManifests(path: string): KubeObject[] {
  return YAML.parseAllDocuments(fs.readFileSync(path, "utf8"))
    .map((doc) => {
      if (doc.errors.length > 0) {
        throw new Error(`${path}: ${doc.errors[0].message}`);
      }
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null && typeof o === "object" && "kind" in o);
}

/** The role the controller assumes with its projected ServiceAccount token (IRSA). */
function ecrReadRole(scope: Construct, cluster: eks.ICluster, namespace: string, serviceAccount: string, repositories: ecr.IRepository[]): iam.Role {
  const issuer = cluster.openIdConnectProvider.openIdConnectProviderIssuer;
  // The issuer is a token, so the condition keys are resolved by CloudFormation (CfnJson).
  const conditions = new CfnJson(scope, "FlotillaIrsaConditions", {
    value: {
      [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
      [`${issuer}:aud`]: "sts.amazonaws.com",
    },
  });
  const role = new iam.Role(scope, "FlotillaEcrReadRole", {
    description: "Flotilla controller (IRSA): scan ECR tags for image automation (provider: aws)",
    assumedBy: new iam.OpenIdConnectPrincipal(cluster.openIdConnectProvider, { StringEquals: conditions }),
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: "EcrLogin",
      actions: ["ecr:GetAuthorizationToken"],
      resources: ["*"],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: "EcrRead",
      actions: [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
        "ecr:DescribeRepositories",
        "ecr:GetDownloadUrlForLayer",
        "ecr:ListImages",
      ],
      resources: repositories.map((r) => r.repositoryArn),
    }),
  );
  return role;
}

function setImage(deployment: KubeObject, image: string): void {
  const spec = deployment.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  const containers = spec?.template?.spec?.containers ?? [];
  if (containers.length === 0) {
    throw new Error(`Deployment ${deployment.metadata.name}: no containers to set the image ${image} on`);
  }
  containers[0].image = image;
}

/** The sync objects `flotilla bootstrap git` also writes to `<path>/flux-system/gotk-sync.yaml`. */
export function syncObjects(namespace: string, props: FlotillaAddOnProps): KubeObject[] {
  return [
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "flux-system", namespace },
      spec: {
        interval: "1m0s",
        url: props.fleetUrl,
        ref: { branch: props.fleetBranch },
        secretRef: { name: props.gitSecretName },
      },
    },
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "flux-system", namespace },
      spec: {
        interval: "10m0s",
        path: `./${props.fleetPath.replace(/^\.?\/+/, "")}`,
        prune: true,
        sourceRef: { kind: "GitRepository", name: "flux-system" },
      },
    },
  ];
}
