// Package placement decides where ECS places EC2 tasks: a pure function from
// candidate container instances, a task's requirements, ordered placement
// strategies and placement constraints to one outcome per task (the chosen
// instance and what the task reserved on it, or a failure worded as ECS
// words it).
//
// It owns what the developer guide's "How Amazon ECS places tasks on
// container instances" describes for the EC2 launch type:
//
//  1. identify the container instances that satisfy the CPU, GPU, memory
//     and port requirements in the task definition;
//  2. identify those that satisfy the task placement constraints;
//  3. identify those that satisfy the task placement strategies;
//  4. select the container instance for the task.
//
// (developer guide, task-placement-strategies.html, [V].) Tasks are placed
// one at a time and each reserves what it needs before the next one is
// placed, so the second task of a RunTask sees what the first left.
//
// The package also computes a task's requirements from its task definition
// as ECS does (Requirements), merges and validates strategies and
// constraints (Strategies, Constraints), chooses which tasks a service
// stops when it scales in (SelectTasksToStop) and renders ECS's RunTask
// failures and service event messages from an outcome (failure.go).
//
// It must import only the domain (ecs), the SDK's model types and the
// standard library: no store, no clock, no I/O. Randomness comes in through
// Input.RandFunc, so the same input and the same random source always give
// the same plan. The cluster query language of memberOf constraints is not
// parsed here: callers hand in compiled expressions as Predicate values.
package placement
