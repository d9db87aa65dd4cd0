// Package versionrender holds the pure builders of a CAPApplicationVersion's children: the
// Deployments, Services, ServiceMonitors and content Jobs of its workloads, the Router's
// destinations, and the labels and owner metadata they share. It reads only its Input and
// calls no API; the capapplicationversion controller creates and reconciles what it returns.
package versionrender
