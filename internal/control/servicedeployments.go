package control

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/reconcile"
	"github.com/ecsd/ecsd/internal/reconcile/service"
	"github.com/ecsd/ecsd/internal/reconcile/servicedeployment"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
)

// MaxDescribeServiceDeployments is how many ARNs DescribeServiceDeployments
// and DescribeServiceRevisions take ("You can specify a maximum of 20
// ARNs").
const MaxDescribeServiceDeployments = 20

// ListServiceDeploymentsRequest is ListServiceDeployments' input.
type ListServiceDeploymentsRequest struct {
	Cluster, Service string
	CreatedAt        *types.CreatedAt
	Statuses         []types.ServiceDeploymentStatus
	MaxResults       *int32
	NextToken        string
}

// ListServiceDeployments lists a service's deployments newest first
// (20 a page by default). Only the deployments of the service that holds
// the name now are listed: ECS deletes a service's history with it.
func (c *Control) ListServiceDeployments(ctx context.Context, who Caller, r ListServiceDeploymentsRequest) ([]types.ServiceDeploymentBrief, string, error) {
	limit, err := pageSizeOr(r.MaxResults, 20)
	if err != nil {
		return nil, "", err
	}
	if r.Service == "" {
		return nil, "", ecs.InvalidParameterException("Service cannot be blank.")
	}
	const query = "serviceDeployments"
	var after string
	if r.NextToken != "" {
		if err := decodeToken(r.NextToken, query, &after); err != nil {
			return nil, "", err
		}
	}
	var out []types.ServiceDeploymentBrief
	err = c.Store.View(ctx, func(tx store.ReadTx) error {
		svc, err := c.anyService(tx, who, r.Cluster, r.Service)
		if err != nil {
			return err
		}
		q := store.ServiceDeploymentsQuery{Cluster: svc.Cluster, Service: svc.Name,
			CreatedAfter: svc.CreatedAt.Add(-time.Millisecond)}
		for _, s := range r.Statuses {
			q.Statuses = append(q.Statuses, string(s))
		}
		if ca := r.CreatedAt; ca != nil {
			// ecsd keeps milliseconds; a deployment made in the very
			// millisecond of "after" is listed, so a client that notes the
			// time just before its UpdateService finds the deployment.
			if ca.After != nil && ca.After.Add(-time.Millisecond).After(q.CreatedAfter) {
				q.CreatedAfter = ca.After.Truncate(time.Millisecond).Add(-time.Millisecond)
			}
			if ca.Before != nil {
				q.CreatedBefore = *ca.Before
			}
		}
		recs, err := tx.ServiceDeployments(who.Scope, q)
		if err != nil {
			return ecs.ServerException(err)
		}
		for _, rec := range recs {
			sd, err := records.ServiceDeployment(rec)
			if err != nil {
				return ecs.ServerException(err)
			}
			brief := types.ServiceDeploymentBrief{
				ServiceDeploymentArn: sd.ServiceDeploymentArn, ServiceArn: sd.ServiceArn, ClusterArn: sd.ClusterArn,
				CreatedAt: sd.CreatedAt, StartedAt: sd.StartedAt, FinishedAt: sd.FinishedAt,
				Status: sd.Status, StatusReason: sd.StatusReason,
			}
			if sd.TargetServiceRevision != nil {
				brief.TargetServiceRevisionArn = sd.TargetServiceRevision.Arn
			}
			out = append(out, brief)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if after != "" {
		for i, b := range out {
			if deref(b.ServiceDeploymentArn) == after {
				out = out[i+1:]
				break
			}
		}
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		next = encodeToken(query, deref(out[limit-1].ServiceDeploymentArn))
	}
	if out == nil {
		out = []types.ServiceDeploymentBrief{}
	}
	return out, next, nil
}

// anyService finds a service of a cluster whatever its status.
func (c *Control) anyService(tx store.ReadTx, who Caller, cluster, service string) (store.Service, error) {
	cl, err := readCluster(tx, who, cluster)
	if err != nil {
		return store.Service{}, err
	}
	name, ok := serviceName(who, cl.Name, service)
	if !ok {
		return store.Service{}, ecs.ServiceNotFoundException()
	}
	rec, err := tx.Service(who.Scope, cl.Name, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Service{}, ecs.ServiceNotFoundException()
	}
	if err != nil {
		return store.Service{}, ecs.ServerException(err)
	}
	return rec, nil
}

// ownedByService reports whether a service-deployment or revision record
// belongs to the service that holds its name now (not to an earlier,
// deleted service of the same name), and returns that service.
func ownedByService(tx store.ReadTx, scope store.Scope, cluster, service string, createdAt time.Time) (store.Service, bool, error) {
	rec, err := tx.Service(scope, cluster, service)
	if errors.Is(err, store.ErrNotFound) {
		return store.Service{}, false, nil
	}
	if err != nil {
		return store.Service{}, false, ecs.ServerException(err)
	}
	return rec, !createdAt.Before(rec.CreatedAt), nil
}

// ownedServiceDeployment loads a service deployment and the service it
// belongs to; found is false when the ARN is unknown or the deployment was
// an earlier, deleted service's (see ownedByService).
func ownedServiceDeployment(tx store.ReadTx, scope store.Scope, arn string) (sd types.ServiceDeployment, svc store.Service, found bool, err error) {
	rec, err := tx.ServiceDeployment(scope, arn)
	if errors.Is(err, store.ErrNotFound) {
		return sd, svc, false, nil
	}
	if err != nil {
		return sd, svc, false, ecs.ServerException(err)
	}
	if sd, err = records.ServiceDeployment(rec); err != nil {
		return sd, svc, false, ecs.ServerException(err)
	}
	svc, found, err = ownedByService(tx, scope, rec.Cluster, rec.Service, derefTime(sd.CreatedAt))
	return sd, svc, found, err
}

// ownedServiceRevision loads a service revision; found is false when the
// ARN is unknown or the revision was an earlier, deleted service's.
func ownedServiceRevision(tx store.ReadTx, scope store.Scope, arn string) (rev types.ServiceRevision, found bool, err error) {
	rec, err := tx.ServiceRevision(scope, arn)
	if errors.Is(err, store.ErrNotFound) {
		return rev, false, nil
	}
	if err != nil {
		return rev, false, ecs.ServerException(err)
	}
	if rev, err = records.ServiceRevision(rec); err != nil {
		return rev, false, ecs.ServerException(err)
	}
	_, found, err = ownedByService(tx, scope, rec.Cluster, rec.Service, derefTime(rev.CreatedAt))
	return rev, found, err
}

// DescribeServiceDeployments describes up to 20 service deployments.
// Unknown ARNs are failures with reason MISSING. A deployment still under
// way reports the live task counts of its revisions.
func (c *Control) DescribeServiceDeployments(ctx context.Context, who Caller, arns []string) ([]types.ServiceDeployment, []types.Failure, error) {
	if err := checkARNCount(arns, "Service Deployment"); err != nil {
		return nil, nil, err
	}
	out, failures := []types.ServiceDeployment{}, []types.Failure{}
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		for _, arn := range arns {
			sd, svcRec, found, err := ownedServiceDeployment(tx, who.Scope, arn)
			if err != nil {
				return err
			}
			if !found {
				failures = append(failures, missing(arn))
				continue
			}
			if deref(sd.ServiceDeploymentArn) != "" {
				if err := liveCounts(&sd, svcRec); err != nil {
					return err
				}
			}
			out = append(out, sd)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, failures, nil
}

// liveCounts fills the task counts of the revisions of a service
// deployment that is still under way from the service's deployments[],
// and its circuit breaker's failure count from the deployment it targets.
func liveCounts(sd *types.ServiceDeployment, svcRec store.Service) error {
	switch sd.Status {
	case types.ServiceDeploymentStatusInProgress, types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusRollbackInProgress:
	default:
		return nil
	}
	svc, err := records.Service(svcRec)
	if err != nil {
		return ecs.ServerException(err)
	}
	ecs.FillRevisionCounts(sd, svc.Deployments)
	return nil
}

// DescribeServiceRevisions describes up to 20 service revisions. Unknown
// ARNs are failures with reason MISSING.
func (c *Control) DescribeServiceRevisions(ctx context.Context, who Caller, arns []string) ([]types.ServiceRevision, []types.Failure, error) {
	if err := checkARNCount(arns, "Service Revision"); err != nil {
		return nil, nil, err
	}
	out, failures := []types.ServiceRevision{}, []types.Failure{}
	err := c.Store.View(ctx, func(tx store.ReadTx) error {
		for _, arn := range arns {
			rev, found, err := ownedServiceRevision(tx, who.Scope, arn)
			if err != nil {
				return err
			}
			if !found {
				failures = append(failures, missing(arn))
				continue
			}
			out = append(out, rev)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, failures, nil
}

func checkARNCount(arns []string, what string) error {
	switch {
	case len(arns) == 0:
		return ecs.InvalidParameterException("%s ARNs can not be empty.", what)
	case len(arns) > MaxDescribeServiceDeployments:
		return ecs.InvalidParameterException("%s ARN count cannot exceed %d", what, MaxDescribeServiceDeployments)
	}
	return nil
}

// missing is the failure the Describe operations report for an
// identifier that names nothing.
func missing(arn string) types.Failure {
	return types.Failure{Arn: ptr(arn), Reason: ptr("MISSING")}
}

// StopServiceDeployment stops a service deployment that is under way.
// ROLLBACK (the default) goes back to the service revision of the last
// deployment that completed, whether or not rollback was configured;
// ABORT stops the deployment where it is (it launches no more tasks).
func (c *Control) StopServiceDeployment(ctx context.Context, who Caller, arn string, stopType types.StopServiceDeploymentStopType) (string, error) {
	if arn == "" {
		return "", ecs.InvalidParameterException("serviceDeploymentArn can not be blank.")
	}
	if stopType == "" {
		stopType = types.StopServiceDeploymentStopTypeRollback
	}
	if stopType != types.StopServiceDeploymentStopTypeRollback && stopType != types.StopServiceDeploymentStopTypeAbort {
		return "", ecs.InvalidParameterException("stopType must be ROLLBACK or ABORT.")
	}
	now := c.now()
	var svcARN string
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		sd, svcRec, found, err := ownedServiceDeployment(tx, who.Scope, arn)
		if err != nil {
			return err
		}
		if !found {
			return ecs.ServiceDeploymentNotFoundException("The service deployment does not exist.")
		}
		if !servicedeployment.Underway(sd.Status) || svcRec.Status != store.ServiceActive {
			return ecs.ConflictException("The service deployment is not in progress and cannot be stopped.")
		}
		svc, err := records.Service(svcRec)
		if err != nil {
			return ecs.ServerException(err)
		}
		target := ecs.DeploymentIDOfRevision(deref(sd.TargetServiceRevision.Arn))
		if !service.StopPrimary(&svc, target, stopType, now) {
			return ecs.ConflictException("The service deployment is not in progress and cannot be stopped.")
		}
		if stopType == types.StopServiceDeploymentStopTypeAbort {
			if err := stopServiceDeployment(tx, who, arn, now, "", servicedeployment.ReasonStoppedByRequest); err != nil {
				return err
			}
		} else {
			rb, err := rollbackTarget(tx, svcRec, target)
			if err != nil {
				return err
			}
			if rb == nil {
				return ecs.ConflictException("There is no completed service deployment to roll back to.")
			}
			// The stopped deployment has failed; the revision that last
			// completed comes back.
			reconcile.RollBack(&svc, *rb, int(svc.DesiredCount), now, "ECS deployment rolling back to deploymentId "+deref(rb.Id)+".")
			sd, _ = servicedeployment.StopByRollback(sd,
				ecs.ServiceRevisionARN(who.Region, who.Account, svcRec.Cluster, svcRec.Name, ecs.RevisionID(deref(rb.Id))), now)
			if err := putServiceDeployment(tx, who.Scope, sd); err != nil {
				return err
			}
		}
		svcARN = deref(svc.ServiceArn)
		_, err = putService(tx, who.Scope, svc)
		return err
	})
	if err != nil {
		return "", err
	}
	c.notify(TopicService, svcARN)
	return arn, nil
}

// rollbackTarget is the deployment StopServiceDeployment rolls back to
// (records.LastCompletedDeployment); nil when there is none, or when it is
// the deployment being stopped.
func rollbackTarget(tx store.ReadTx, svcRec store.Service, exclude string) (*types.Deployment, error) {
	d, err := records.LastCompletedDeployment(tx, svcRec)
	if err != nil {
		return nil, ecs.ServerException(err)
	}
	if d == nil || deref(d.Id) == exclude {
		return nil, nil
	}
	return d, nil
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
