package api

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsd/ecsd/internal/awsjson"
	"github.com/ecsd/ecsd/internal/control"
)

// registerAccount installs the account settings and custom attributes
// operations.
func registerAccount(srv *awsjson.Server, c *control.Control) {
	awsjson.HandleFunc(srv, "PutAccountSetting", func(ctx context.Context, req *awsjson.Request, in *ecs.PutAccountSettingInput) (*ecs.PutAccountSettingOutput, error) {
		s, err := c.PutAccountSetting(ctx, caller(req), in.Name, in.Value, in.PrincipalArn)
		if err != nil {
			return nil, err
		}
		return &ecs.PutAccountSettingOutput{Setting: &s}, nil
	})
	awsjson.HandleFunc(srv, "PutAccountSettingDefault", func(ctx context.Context, req *awsjson.Request, in *ecs.PutAccountSettingDefaultInput) (*ecs.PutAccountSettingDefaultOutput, error) {
		s, err := c.PutAccountSettingDefault(ctx, caller(req), in.Name, in.Value)
		if err != nil {
			return nil, err
		}
		return &ecs.PutAccountSettingDefaultOutput{Setting: &s}, nil
	})
	awsjson.HandleFunc(srv, "DeleteAccountSetting", func(ctx context.Context, req *awsjson.Request, in *ecs.DeleteAccountSettingInput) (*ecs.DeleteAccountSettingOutput, error) {
		s, err := c.DeleteAccountSetting(ctx, caller(req), in.Name, in.PrincipalArn)
		if err != nil {
			return nil, err
		}
		return &ecs.DeleteAccountSettingOutput{Setting: &s}, nil
	})
	awsjson.HandleFunc(srv, "ListAccountSettings", func(ctx context.Context, req *awsjson.Request, in *ecs.ListAccountSettingsInput) (*ecs.ListAccountSettingsOutput, error) {
		settings, next, err := c.ListAccountSettings(ctx, caller(req), control.ListAccountSettingsRequest{
			Name:              in.Name,
			Value:             in.Value,
			PrincipalArn:      in.PrincipalArn,
			EffectiveSettings: in.EffectiveSettings,
			MaxResults:        in.MaxResults,
			NextToken:         deref(in.NextToken),
		})
		if err != nil {
			return nil, err
		}
		return &ecs.ListAccountSettingsOutput{Settings: settings, NextToken: optional(next)}, nil
	})
	awsjson.HandleFunc(srv, "PutAttributes", func(ctx context.Context, req *awsjson.Request, in *ecs.PutAttributesInput) (*ecs.PutAttributesOutput, error) {
		attrs, err := c.PutAttributes(ctx, caller(req), deref(in.Cluster), in.Attributes)
		if err != nil {
			return nil, err
		}
		return &ecs.PutAttributesOutput{Attributes: attrs}, nil
	})
	awsjson.HandleFunc(srv, "DeleteAttributes", func(ctx context.Context, req *awsjson.Request, in *ecs.DeleteAttributesInput) (*ecs.DeleteAttributesOutput, error) {
		attrs, err := c.DeleteAttributes(ctx, caller(req), deref(in.Cluster), in.Attributes)
		if err != nil {
			return nil, err
		}
		return &ecs.DeleteAttributesOutput{Attributes: attrs}, nil
	})
	awsjson.HandleFunc(srv, "ListAttributes", func(ctx context.Context, req *awsjson.Request, in *ecs.ListAttributesInput) (*ecs.ListAttributesOutput, error) {
		attrs, next, err := c.ListAttributes(ctx, caller(req), control.ListAttributesRequest{
			Cluster:        deref(in.Cluster),
			TargetType:     in.TargetType,
			AttributeName:  in.AttributeName,
			AttributeValue: in.AttributeValue,
			MaxResults:     in.MaxResults,
			NextToken:      deref(in.NextToken),
		})
		if err != nil {
			return nil, err
		}
		return &ecs.ListAttributesOutput{Attributes: attrs, NextToken: optional(next)}, nil
	})
}
