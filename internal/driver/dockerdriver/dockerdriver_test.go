package dockerdriver

import (
	"strconv"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
	"github.com/ecsd/ecsd/internal/driver/drivertest"
)

func TestConformance(t *testing.T) {
	_, tiny := testEngine(t)
	drivertest.Run(t, drivertest.Harness{
		New:     func(t *testing.T) driver.Driver { return newDriver(t, scope(t)) },
		Advance: time.Sleep,
		RunsForever: func(name string) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: tiny, Essential: true, Command: []string{"run"}}
		},
		Exits: func(name string, code int, after time.Duration) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: tiny, Command: []string{"exit", strconv.Itoa(code), strconv.FormatInt(after.Milliseconds(), 10)}}
		},
		FailsToStart: func(name string) (driver.ContainerSpec, string) {
			// No registry answers here, and none has this image anyway.
			return driver.ContainerSpec{Name: name, Image: "ecsd-test/does-not-exist:1"}, "CannotPullContainerError: "
		},
		IgnoresSIGTERM: func(name string) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: tiny, Command: []string{"ignore-term"}}
		},
		Patience: 20 * time.Second,
		Shell: func(t *testing.T, name string) driver.ContainerSpec {
			return driver.ContainerSpec{Name: name, Image: shellImage(t), Command: []string{"run"}}
		},
	})
}
