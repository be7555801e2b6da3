#!/bin/sh
# ci-deploy.sh ENVIRONMENT: a CI job's deploy step, one deploy per
# environment at a time across every runner, in the order the jobs asked.
#
# It waits for the environment's lock (at most DEPLOY_LOCK_TIMEOUT), then
# runs DEPLOY_COMMAND (default: ./deploy.sh ENVIRONMENT) holding it, with
# the lock's fencing token in ZKCOORD_FENCING_TOKEN for the deploy target
# to check. The lock is released when the deploy ends, however it ends; a
# runner that dies frees it when its ZooKeeper session ends.
#
# Exit status: the deploy's own; 75 if the lock was not had in time; 76 if
# the lock was lost mid-deploy (the deploy got SIGTERM); 69 if ZooKeeper
# cannot be reached.
#
#   ZK_SERVERS=zk1:2181,zk2:2181,zk3:2181 ./ci-deploy.sh staging
set -eu
environment=${1:?usage: ci-deploy.sh ENVIRONMENT}
job=${CI_JOB_ID:-$(hostname)/$$}
exec "${ZKCOORD:-zkcoord}" lock \
	--identity "ci job $job" \
	--timeout "${DEPLOY_LOCK_TIMEOUT:-30m}" \
	"/ci/deploy/$environment" -- \
	sh -c "${DEPLOY_COMMAND:-./deploy.sh \"\$1\"}" deploy "$environment"
