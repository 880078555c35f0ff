// Package wire is the AWS JSON 1.1 codec of ECS and CloudWatch Logs: it
// reads and writes the official SDKs' Input, Output and types structs, with
// member names, enum values and shapes taken from the models in
// aws-sdk-go-v2/service/ecs and aws-sdk-go-v2/service/cloudwatchlogs (their
// schemas and generated Serialize methods), never typed by hand.
//
// It imports only the SDK models; it must never import net/http or ecsd's
// own packages.
package wire
