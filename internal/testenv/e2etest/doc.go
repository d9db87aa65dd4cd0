// Package e2etest holds the end-to-end tests of package testenv: they run
// in their own test binary because each test package gets one environment,
// and this one is an E2E environment (controllers, scheduler, kwok node).
package e2etest
