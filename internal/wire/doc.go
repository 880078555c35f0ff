// Package wire is the ECS wire codec: it reads and writes the official SDK's
// Input, Output and types structs as AWS JSON 1.1, with member names, enum
// values and shapes taken from the model in aws-sdk-go-v2/service/ecs
// (its schemas and generated Serialize methods), never typed by hand.
//
// It imports only the SDK model; it must never import net/http or ecsd's
// own packages.
package wire
