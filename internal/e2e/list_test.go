package e2e

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestListTaskDefinitions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()

	// Registered out of order so that insertion order is not the answer.
	register(t, c, "beta")
	for range 12 {
		register(t, c, "alpha")
	}
	register(t, c, "alphabet")
	register(t, c, "beta")
	deregister(t, c, "beta:1")

	var alpha []string
	for i := 1; i <= 12; i++ {
		alpha = append(alpha, tdARN("alpha", i))
	}
	activeAsc := append(slices.Clone(alpha), tdARN("alphabet", 1), tdARN("beta", 2))
	activeDesc := slices.Clone(activeAsc)
	slices.Reverse(activeDesc)
	alphaDesc := slices.Clone(alpha)
	slices.Reverse(alphaDesc)

	tests := []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
		want []string
	}{
		{"default is ACTIVE, ascending", ecs.ListTaskDefinitionsInput{}, activeAsc},
		{"ACTIVE", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusActive}, activeAsc},
		{"INACTIVE", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}, []string{tdARN("beta", 1)}},
		{"DELETE_IN_PROGRESS", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress}, nil},
		{"familyPrefix is the exact family", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("alpha")}, alpha},
		{"familyPrefix that is only a prefix", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("alp")}, nil},
		{"familyPrefix with status", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("beta"), Status: types.TaskDefinitionStatusInactive}, []string{tdARN("beta", 1)}},
		{"DESC", ecs.ListTaskDefinitionsInput{Sort: types.SortOrderDesc}, activeDesc},
		{"DESC within a family", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("alpha"), Sort: types.SortOrderDesc}, alphaDesc},
		{"ASC explicitly", ecs.ListTaskDefinitionsInput{Sort: types.SortOrderAsc}, activeAsc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.ListTaskDefinitions(t.Context(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if out.NextToken != nil {
				t.Errorf("nextToken = %q for a listing that fits one page", *out.NextToken)
			}
			if diff := cmp.Diff(tt.want, out.TaskDefinitionArns, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("revisions sort as numbers", func(t *testing.T) {
		out, err := c.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("alpha")})
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.Index(out.TaskDefinitionArns, tdARN("alpha", 9)); i < 0 || out.TaskDefinitionArns[i+1] != tdARN("alpha", 10) {
			t.Errorf("alpha:10 does not follow alpha:9 in %v", out.TaskDefinitionArns)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		for _, size := range []int32{1, 2, 5, 13, 14, 100} {
			for _, order := range []types.SortOrder{types.SortOrderAsc, types.SortOrderDesc} {
				t.Run(fmt.Sprintf("%d %s", size, order), func(t *testing.T) {
					want := activeAsc
					if order == types.SortOrderDesc {
						want = activeDesc
					}
					got := listAll(t, c, ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(size), Sort: order})
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("paged (-want +got):\n%s", diff)
					}
				})
			}
		}
		// Pages hold at most maxResults.
		p := ecs.NewListTaskDefinitionsPaginator(c, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(3)})
		pages := 0
		for p.HasMorePages() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page.TaskDefinitionArns) > 3 {
				t.Errorf("page of %d with maxResults 3", len(page.TaskDefinitionArns))
			}
		}
		if pages < 5 {
			t.Errorf("%d pages for 14 ARNs at 3 a page", pages)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, n := range []int32{0, 101, -1} {
			_, err := c.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(n)})
			wantAPIError[*types.InvalidParameterException](t, err, "maxResults must be between 1 and 100.")
		}
		const badToken = "Invalid nextToken: the token is malformed or was issued for a different request."
		for _, tok := range []string{"garbage", "!!!", "eyJxIjoiIn0"} {
			_, err := c.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{NextToken: aws.String(tok)})
			wantAPIError[*types.InvalidParameterException](t, err, badToken)
		}
		// A real token replayed against another listing.
		page, err := c.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(1)})
		if err != nil || page.NextToken == nil {
			t.Fatalf("first page: %+v, %v", page, err)
		}
		_, err = c.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{NextToken: page.NextToken, Status: types.TaskDefinitionStatusInactive})
		wantAPIError[*types.InvalidParameterException](t, err, badToken)
		_, err = c.ListTaskDefinitionFamilies(t.Context(), &ecs.ListTaskDefinitionFamiliesInput{NextToken: page.NextToken})
		wantAPIError[*types.InvalidParameterException](t, err, badToken)
		// An unknown status is refused before it reaches the store.
		_, err = c.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{Status: "DELETED"})
		var ipe *types.InvalidParameterException
		if !errors.As(err, &ipe) {
			t.Errorf("status DELETED: error = %v, want InvalidParameterException", err)
		}
	})
}

func TestListTaskDefinitionFamilies(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	for _, f := range []string{"beta", "alpha", "alphabet", "old", "beta"} {
		register(t, c, f)
	}
	deregister(t, c, "old:1")
	deregister(t, c, "beta:1") // beta keeps an ACTIVE revision

	tests := []struct {
		name string
		in   ecs.ListTaskDefinitionFamiliesInput
		want []string
	}{
		{"default is ACTIVE and INACTIVE", ecs.ListTaskDefinitionFamiliesInput{}, []string{"alpha", "alphabet", "beta", "old"}},
		{"ACTIVE", familiesInput("", "ACTIVE"), []string{"alpha", "alphabet", "beta"}},
		{"INACTIVE", familiesInput("", "INACTIVE"), []string{"old"}},
		{"ALL", familiesInput("", "ALL"), []string{"alpha", "alphabet", "beta", "old"}},
		{"prefix", familiesInput("alp", ""), []string{"alpha", "alphabet"}},
		{"prefix is a real prefix", familiesInput("alpha", "ACTIVE"), []string{"alpha", "alphabet"}},
		{"prefix with INACTIVE", familiesInput("o", "INACTIVE"), []string{"old"}},
		{"no match", familiesInput("zzz", "ALL"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.ListTaskDefinitionFamilies(t.Context(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.Families, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, size := range []int32{1, 2, 3} {
				in := tt.in
				in.MaxResults = aws.Int32(size)
				if diff := cmp.Diff(tt.want, families(t, c, in), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("paged by %d (-want +got):\n%s", size, diff)
				}
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		for _, n := range []int32{0, 101} {
			_, err := c.ListTaskDefinitionFamilies(t.Context(), &ecs.ListTaskDefinitionFamiliesInput{MaxResults: aws.Int32(n)})
			wantAPIError[*types.InvalidParameterException](t, err, "maxResults must be between 1 and 100.")
		}
		_, err := c.ListTaskDefinitionFamilies(t.Context(), &ecs.ListTaskDefinitionFamiliesInput{NextToken: aws.String("garbage")})
		wantAPIError[*types.InvalidParameterException](t, err, "Invalid nextToken: the token is malformed or was issued for a different request.")
	})
}

// TestPaginationUnderWrites: registrations between pages neither repeat nor
// skip what was there when the listing began.
func TestPaginationUnderWrites(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.defaultClient()
	for range 10 {
		register(t, c, "m")
	}
	for _, f := range []string{"b", "d", "f"} {
		register(t, c, f)
	}

	seen := map[string]int{}
	p := ecs.NewListTaskDefinitionsPaginator(c, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.TaskDefinitionArns {
			seen[a]++
		}
		register(t, c, "m") // lands after the cursor
		register(t, c, "a") // lands before it
	}
	for a, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", a, n)
		}
	}
	for _, want := range []string{tdARN("b", 1), tdARN("d", 1), tdARN("f", 1), tdARN("m", 1), tdARN("m", 10)} {
		if seen[want] != 1 {
			t.Errorf("%s, present from the start, was not listed", want)
		}
	}

	fseen := map[string]int{}
	fp := ecs.NewListTaskDefinitionFamiliesPaginator(c, &ecs.ListTaskDefinitionFamiliesInput{MaxResults: aws.Int32(1)})
	for fp.HasMorePages() {
		page, err := fp.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Families {
			fseen[f]++
		}
		register(t, c, "0") // a new family before the cursor
		register(t, c, "c") // a new family, then a new revision, after it or before
	}
	for f, n := range fseen {
		if n != 1 {
			t.Errorf("family %s listed %d times", f, n)
		}
	}
	for _, want := range []string{"a", "b", "d", "f", "m"} {
		if fseen[want] != 1 {
			t.Errorf("family %s listed %d times, want once", want, fseen[want])
		}
	}
}
