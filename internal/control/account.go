package control

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/ecs"
	"github.com/ecsd/ecsd/internal/store"
)

// Account settings. ECS keeps them per account and region, for the account
// (set by the root user or PutAccountSettingDefault: the default of every
// principal) and per IAM principal (overrides). The store keeps the
// account's under principal "" and a principal's under its ARN; the root
// user's ARN names the account's settings.

// MaxAccountSettingsPage is ListAccountSettings' page size limit ("This
// value can be between 1 and 10").
const MaxAccountSettingsPage = 10

// principalKey returns the store principal for a principal ARN: "" for the
// account (its root user), the ARN otherwise.
func principalKey(who Caller, arn string) string {
	if arn == ecs.RootARN(who.Region, who.Account) {
		return ""
	}
	return arn
}

// principalOf returns the principal a request names, or the caller when it
// names none. ECS takes the root user, IAM users and roles of the
// caller's account.
func principalOf(who Caller, principalArn *string) (string, error) {
	if principalArn == nil {
		return who.ARN, nil
	}
	arn := *principalArn
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[5] == "" {
		return "", ecs.InvalidParameterException("Invalid principalArn: %s", arn)
	}
	if parts[4] != who.Account {
		return "", ecs.InvalidParameterException("The principalArn must belong to your account.")
	}
	return arn, nil
}

// setting is an account setting's value and the principal it came from.
type setting struct {
	value     string
	principal string // ARN
}

// effectiveSetting returns the value name has for a principal: its own,
// else the account's, else ECS's built-in default, which ECS reports as
// the root user's.
func effectiveSetting(tx store.ReadTx, who Caller, principal string, name types.SettingName) (setting, error) {
	root := ecs.RootARN(who.Region, who.Account)
	keys := []string{principal}
	if principal != "" {
		keys = append(keys, "")
	}
	for _, key := range keys {
		ss, err := tx.Settings(who.Scope, key)
		if err != nil {
			return setting{}, ecs.ServerException(err)
		}
		for _, s := range ss {
			if s.Name == string(name) {
				arn := key
				if arn == "" {
					arn = root
				}
				return setting{value: s.Value, principal: arn}, nil
			}
		}
	}
	return setting{value: ecs.AccountSettingBuiltin(name), principal: root}, nil
}

func settingOut(name types.SettingName, s setting) types.Setting {
	return types.Setting{
		Name:         name,
		Value:        ptr(s.value),
		PrincipalArn: ptr(s.principal),
		Type:         ecs.AccountSettingType(name),
	}
}

// PutAccountSetting sets an account setting for a principal (the caller
// when principalArn is nil). Setting it for the root user sets the
// account's default.
func (c *Control) PutAccountSetting(ctx context.Context, who Caller, name types.SettingName, value *string, principalArn *string) (types.Setting, error) {
	principal, err := principalOf(who, principalArn)
	if err != nil {
		return types.Setting{}, err
	}
	return c.putSetting(ctx, who, principal, name, value)
}

// PutAccountSettingDefault sets an account setting for every principal
// that has none of its own.
func (c *Control) PutAccountSettingDefault(ctx context.Context, who Caller, name types.SettingName, value *string) (types.Setting, error) {
	return c.putSetting(ctx, who, ecs.RootARN(who.Region, who.Account), name, value)
}

func (c *Control) putSetting(ctx context.Context, who Caller, principal string, name types.SettingName, value *string) (types.Setting, error) {
	if err := ecs.ValidateAccountSetting(name, deref(value)); err != nil {
		return types.Setting{}, err
	}
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		return tx.PutSetting(store.Setting{Scope: who.Scope, Principal: principalKey(who, principal), Name: string(name), Value: *value})
	})
	if err != nil {
		return types.Setting{}, ecs.ServerException(err)
	}
	return settingOut(name, setting{value: *value, principal: principal}), nil
}

// DeleteAccountSetting removes a principal's setting (the caller's when
// principalArn is nil), so the account's or ECS's default applies again.
// It answers the setting as it was; deleting one that is not set answers
// the value in effect and changes nothing.
func (c *Control) DeleteAccountSetting(ctx context.Context, who Caller, name types.SettingName, principalArn *string) (types.Setting, error) {
	principal, err := principalOf(who, principalArn)
	if err != nil {
		return types.Setting{}, err
	}
	var out setting
	err = c.Store.Update(ctx, func(tx store.Tx) error {
		key := principalKey(who, principal)
		cur, err := effectiveSetting(tx, who, key, name)
		if err != nil {
			return err
		}
		out = cur
		err = tx.DeleteSetting(who.Scope, key, string(name))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return ecs.ServerException(err)
		}
		return nil
	})
	if err != nil {
		return types.Setting{}, err
	}
	return settingOut(name, out), nil
}

// ListAccountSettingsRequest is ListAccountSettings' input in domain terms.
type ListAccountSettingsRequest struct {
	Name              types.SettingName // "" for every setting
	Value             *string
	PrincipalArn      *string
	EffectiveSettings bool
	MaxResults        int32 // 0 when not given
	NextToken         string
}

// ListAccountSettings lists a principal's settings (the caller's when
// none is named): the ones set for it, or with EffectiveSettings every
// setting with the value in effect for it. Settings come in name order.
func (c *Control) ListAccountSettings(ctx context.Context, who Caller, r ListAccountSettingsRequest) ([]types.Setting, string, error) {
	limit := MaxAccountSettingsPage
	if r.MaxResults != 0 {
		if r.MaxResults < 1 || r.MaxResults > MaxAccountSettingsPage {
			return nil, "", ecs.InvalidParameterException("maxResults must be between 1 and %d.", MaxAccountSettingsPage)
		}
		limit = int(r.MaxResults)
	}
	if r.Value != nil && r.Name == "" {
		return nil, "", ecs.InvalidParameterException("You must also specify an account setting name to filter by value.")
	}
	principal, err := principalOf(who, r.PrincipalArn)
	if err != nil {
		return nil, "", err
	}
	query := "settings|" + string(r.Name) + "|" + deref(r.Value) + "|" + principal
	if r.EffectiveSettings {
		query += "|effective"
	}
	var after string
	if r.NextToken != "" {
		if err := decodeToken(r.NextToken, query, &after); err != nil {
			return nil, "", err
		}
	}
	var all []types.Setting
	err = c.Store.View(ctx, func(tx store.ReadTx) error {
		key := principalKey(who, principal)
		if r.EffectiveSettings {
			for _, name := range ecs.AccountSettingNames() {
				s, err := effectiveSetting(tx, who, key, name)
				if err != nil {
					return err
				}
				all = append(all, settingOut(name, s))
			}
			return nil
		}
		ss, err := tx.Settings(who.Scope, key)
		if err != nil {
			return ecs.ServerException(err)
		}
		for _, s := range ss {
			all = append(all, settingOut(types.SettingName(s.Name), setting{value: s.Value, principal: principal}))
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	out := []types.Setting{}
	for _, s := range all {
		switch {
		case r.Name != "" && s.Name != r.Name:
		case r.Value != nil && deref(s.Value) != *r.Value:
		case string(s.Name) <= after:
		default:
			out = append(out, s)
		}
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		next = encodeToken(query, string(out[len(out)-1].Name))
	}
	return out, next, nil
}
