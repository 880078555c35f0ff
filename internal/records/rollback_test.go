package records_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/records"
	"github.com/ecsd/ecsd/internal/store"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

func TestLastCompletedDeployment(t *testing.T) {
	const svcARN = "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	revARN := func(id string) string { return ecs.ServiceRevisionARN(scope.Region, scope.Account, "prod", "web", id) }
	// deployment is a service deployment made at created+minutes that
	// targets revision target and, when rolledBackTo is set, rolled back.
	deployment := func(id string, minutes int, status types.ServiceDeploymentStatus, target, rolledBackTo string) types.ServiceDeployment {
		sd := types.ServiceDeployment{
			ServiceDeploymentArn:  ptr(ecs.ServiceDeploymentARN(scope.Region, scope.Account, "prod", "web", id)),
			ServiceArn:            ptr(svcARN),
			CreatedAt:             ptr(created.Add(time.Duration(minutes) * time.Minute)),
			Status:                status,
			TargetServiceRevision: &types.ServiceRevisionSummary{Arn: ptr(revARN(target))},
		}
		if rolledBackTo != "" {
			sd.Rollback = &types.Rollback{ServiceRevisionArn: ptr(revARN(rolledBackTo))}
		}
		return sd
	}
	tests := []struct {
		name        string
		revisions   []string
		deployments []types.ServiceDeployment
		want        string // deployments[] id, "" for nil
	}{
		{name: "none completed", revisions: []string{"1"},
			deployments: []types.ServiceDeployment{deployment("a", 1, types.ServiceDeploymentStatusInProgress, "1", "")}},
		{name: "newest successful", revisions: []string{"1", "2", "3"},
			deployments: []types.ServiceDeployment{
				deployment("a", 1, types.ServiceDeploymentStatusSuccessful, "1", ""),
				deployment("b", 2, types.ServiceDeploymentStatusSuccessful, "2", ""),
				deployment("c", 3, types.ServiceDeploymentStatusInProgress, "3", ""),
			}, want: "ecs-svc/2"},
		{name: "rolled back goes to the rollback revision", revisions: []string{"1", "2"},
			deployments: []types.ServiceDeployment{
				deployment("a", 1, types.ServiceDeploymentStatusSuccessful, "1", ""),
				deployment("b", 2, types.ServiceDeploymentStatusRollbackSuccessful, "2", "1"),
			}, want: "ecs-svc/1"},
		{name: "an earlier service of the same name does not count", revisions: []string{"1"},
			deployments: []types.ServiceDeployment{deployment("a", -1, types.ServiceDeploymentStatusSuccessful, "1", "")}},
		{name: "revision gone", revisions: nil,
			deployments: []types.ServiceDeployment{deployment("a", 1, types.ServiceDeploymentStatusSuccessful, "1", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := sqlitestore.Open(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			svc, err := records.FromService(scope, types.Service{ServiceArn: ptr(svcARN), Status: ptr("ACTIVE"), CreatedAt: &created})
			if err != nil {
				t.Fatal(err)
			}
			var got *types.Deployment
			err = st.Update(context.Background(), func(tx store.Tx) error {
				if err := tx.PutService(svc); err != nil {
					return err
				}
				for _, id := range tt.revisions {
					rec, err := records.FromServiceRevision(scope, types.ServiceRevision{
						ServiceRevisionArn: ptr(revARN(id)), ServiceArn: ptr(svcARN), CreatedAt: &created})
					if err != nil {
						return err
					}
					if err := tx.PutServiceRevision(rec); err != nil {
						return err
					}
				}
				for _, sd := range tt.deployments {
					rec, err := records.FromServiceDeployment(scope, sd)
					if err != nil {
						return err
					}
					if err := tx.PutServiceDeployment(rec); err != nil {
						return err
					}
				}
				got, err = records.LastCompletedDeployment(tx, svc)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			gotID := ""
			if got != nil {
				gotID = *got.Id
			}
			if gotID != tt.want {
				t.Errorf("LastCompletedDeployment = %q, want %q", gotID, tt.want)
			}
		})
	}
}
