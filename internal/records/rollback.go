package records

import (
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
)

// LastCompletedDeployment is the deployment a rollback goes back to, both
// for StopServiceDeployment (control) and for the circuit breaker (the
// scheduler): the service revision of the newest service deployment of svc
// that completed, directly or by rolling back to it, as a deployments[]
// entry. Deployments of an earlier, deleted service of the same name do
// not count. nil when there is none.
func LastCompletedDeployment(tx store.ReadTx, svc store.Service) (*types.Deployment, error) {
	recs, err := tx.ServiceDeployments(svc.Scope, store.ServiceDeploymentsQuery{
		Cluster: svc.Cluster, Service: svc.Name, Limit: 1,
		Statuses:     []string{string(types.ServiceDeploymentStatusSuccessful), string(types.ServiceDeploymentStatusRollbackSuccessful)},
		CreatedAfter: svc.CreatedAt.Add(-time.Millisecond),
	})
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	sd, err := ServiceDeployment(recs[0])
	if err != nil {
		return nil, err
	}
	revARN := ""
	switch {
	case sd.Status == types.ServiceDeploymentStatusRollbackSuccessful && sd.Rollback != nil:
		revARN = deref(sd.Rollback.ServiceRevisionArn)
	case sd.TargetServiceRevision != nil:
		revARN = deref(sd.TargetServiceRevision.Arn)
	}
	revRec, err := tx.ServiceRevision(svc.Scope, revARN)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rev, err := ServiceRevision(revRec)
	if err != nil {
		return nil, err
	}
	d := ecs.DeploymentOfRevision(rev)
	return &d, nil
}
