// Package capop implements the commands of the kubectl plugin kubectl-capop: the rollout
// status of applications, their tenants, the rollout controls (pause, resume, retry, abort)
// and the logs of a tenant's last operation. The commands take clientsets, so tests run them
// against fake ones.
package capop
