// The walkthrough's three CodeCommit repositories, the ECR repository of the front-end image, and
// the app's CodePipeline whose CodeBuild project builds and pushes `<branch>-<sha>-<build number>`.
import { CfnOutput, RemovalPolicy, Stack, StackProps } from "aws-cdk-lib";
import * as codebuild from "aws-cdk-lib/aws-codebuild";
import * as codecommit from "aws-cdk-lib/aws-codecommit";
import * as codepipeline from "aws-cdk-lib/aws-codepipeline";
import * as actions from "aws-cdk-lib/aws-codepipeline-actions";
import * as ecr from "aws-cdk-lib/aws-ecr";
import { Construct } from "constructs";

export interface GitOpsReposProps extends StackProps {
  readonly fleetRepositoryName: string;
  readonly microservicesRepositoryName: string;
  readonly appRepositoryName: string;
  readonly ecrRepositoryName: string;
  /** Branch of the app repository that CI builds; the first part of every image tag. */
  readonly appBranch: string;
}

/**
 * The buildspec of the app's CodeBuild project. The tag is `<branch>-<7-char sha>-<build number>`
 * (e.g. `main-d480788-7`), which the ImagePolicy's
 * `^main-[a-f0-9]+-(?P<build>[0-9]+)` pattern orders by build number.
 */
export function appBuildSpec(): Record<string, unknown> {
  return {
    version: "0.2",
    env: { shell: "bash" },
    phases: {
      pre_build: {
        commands: [
          'echo "Logging in to ${REPOSITORY_URI%%/*}"',
          'aws ecr get-login-password --region "$AWS_DEFAULT_REGION" | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"',
          'IMAGE_TAG="${BRANCH}-${CODEBUILD_RESOLVED_SOURCE_VERSION:0:7}-${CODEBUILD_BUILD_NUMBER}"',
          'echo "Image tag: $IMAGE_TAG"',
        ],
      },
      build: {
        commands: ['docker build -t "$REPOSITORY_URI:$IMAGE_TAG" .'],
      },
      post_build: {
        commands: ['docker push "$REPOSITORY_URI:$IMAGE_TAG"', 'printf \'[{"name":"front-end","imageUri":"%s"}]\' "$REPOSITORY_URI:$IMAGE_TAG" > imagedefinitions.json'],
      },
    },
    artifacts: { files: ["imagedefinitions.json"] },
  };
}

export class GitOpsReposStack extends Stack {
  readonly fleetRepository: codecommit.Repository;
  readonly microservicesRepository: codecommit.Repository;
  readonly appRepository: codecommit.Repository;
  readonly imageRepository: ecr.Repository;
  readonly pipeline: codepipeline.Pipeline;

  constructor(scope: Construct, id: string, props: GitOpsReposProps) {
    super(scope, id, props);

    this.fleetRepository = new codecommit.Repository(this, "FleetRepository", {
      repositoryName: props.fleetRepositoryName,
      description: "Fleet repository: clusters/, infrastructure/ and apps/ that Flotilla syncs",
    });
    this.microservicesRepository = new codecommit.Repository(this, "MicroservicesRepository", {
      repositoryName: props.microservicesRepositoryName,
      description: "Sock Shop manifests (deploy/kubernetes base and overlays); image automation commits here",
    });
    this.appRepository = new codecommit.Repository(this, "AppRepository", {
      repositoryName: props.appRepositoryName,
      description: "Front-end source; every push builds an image into ECR",
    });

    this.imageRepository = new ecr.Repository(this, "FrontEndImages", {
      repositoryName: props.ecrRepositoryName,
      imageScanOnPush: true,
      // Images are rebuilt from app-repo; deleting the stack should not leave a repository behind.
      removalPolicy: RemovalPolicy.DESTROY,
      emptyOnDelete: true,
    });

    const project = new codebuild.PipelineProject(this, "FrontEndBuild", {
      description: "Builds the front-end image and pushes <branch>-<sha>-<build number> to ECR",
      environment: {
        buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
        computeType: codebuild.ComputeType.SMALL,
        // Docker builds need a privileged build container.
        privileged: true,
      },
      environmentVariables: {
        REPOSITORY_URI: { value: this.imageRepository.repositoryUri },
        BRANCH: { value: props.appBranch },
      },
      buildSpec: codebuild.BuildSpec.fromObject(appBuildSpec()),
    });
    this.imageRepository.grantPullPush(project);

    const source = new codepipeline.Artifact("Source");
    const built = new codepipeline.Artifact("ImageDefinitions");
    this.pipeline = new codepipeline.Pipeline(this, "FrontEndPipeline", {
      pipelineName: `${props.appRepositoryName}-pipeline`,
      pipelineType: codepipeline.PipelineType.V2,
      stages: [
        {
          stageName: "Source",
          actions: [
            new actions.CodeCommitSourceAction({
              actionName: "AppRepo",
              repository: this.appRepository,
              branch: props.appBranch,
              output: source,
              // A Git clone rather than a zip: the build sees .git, and CODEBUILD_RESOLVED_SOURCE_VERSION
              // is the commit that triggered the run.
              codeBuildCloneOutput: true,
            }),
          ],
        },
        {
          stageName: "Build",
          actions: [new actions.CodeBuildAction({ actionName: "BuildImage", project, input: source, outputs: [built] })],
        },
      ],
    });

    new CfnOutput(this, "FleetCloneUrlHttp", { value: this.fleetRepository.repositoryCloneUrlHttp });
    new CfnOutput(this, "MicroservicesCloneUrlHttp", { value: this.microservicesRepository.repositoryCloneUrlHttp });
    new CfnOutput(this, "AppCloneUrlHttp", { value: this.appRepository.repositoryCloneUrlHttp });
    new CfnOutput(this, "ImageRepositoryUri", { value: this.imageRepository.repositoryUri });
  }
}
