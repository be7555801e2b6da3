#!/bin/bash
# Entrypoint of the zkcoord/zookeeper image (docker/build-image).
#
# Like the official `zookeeper` image's, and with the same variable names, it
# writes $ZOO_CONF_DIR/zoo.cfg from the environment unless one is there
# already (a container restarted after `docker kill` keeps its config and
# data), writes $ZOO_DATA_DIR/myid, then runs the command: by default
# `zkServer.sh start-foreground`, which runs the server in the foreground.
#
#   ZOO_MY_ID                   this server's id (default 1)
#   ZOO_SERVERS                 space-separated server lines, e.g.
#                               "server.1=zk1:2888:3888;2181 server.2=zk2:2888:3888;2181"
#                               (default: a standalone server on 2181)
#   ZOO_TICK_TIME               tickTime in ms (2000)
#   ZOO_INIT_LIMIT              initLimit in ticks (5)
#   ZOO_SYNC_LIMIT              syncLimit in ticks (2)
#   ZOO_MAX_CLIENT_CNXNS        maxClientCnxns (60)
#   ZOO_STANDALONE_ENABLED      standaloneEnabled (true)
#   ZOO_ADMINSERVER_ENABLED     admin.enableServer (false here; true in the official image)
#   ZOO_AUTOPURGE_PURGEINTERVAL, ZOO_AUTOPURGE_SNAPRETAINCOUNT   (0, 3)
#   ZOO_4LW_COMMANDS_WHITELIST  4lw.commands.whitelist (srvr,ruok,mntr,stat,conf,cons,wchc,wchs,dirs,isro)
#   ZOO_CFG_EXTRA               space-separated key=value lines appended to zoo.cfg
#   ZOO_LOG_LEVEL               log4j root level, logged to stdout (INFO)
#   ZK_SERVER_HEAP              heap in MB (256)
#   SERVER_JVMFLAGS, JVMFLAGS   extra JVM flags, appended
set -euo pipefail

: "${ZOO_CONF_DIR:=/conf}"
: "${ZOO_DATA_DIR:=/data}"
: "${ZOO_DATA_LOG_DIR:=/datalog}"
: "${ZOO_TICK_TIME:=2000}"
: "${ZOO_INIT_LIMIT:=5}"
: "${ZOO_SYNC_LIMIT:=2}"
: "${ZOO_AUTOPURGE_PURGEINTERVAL:=0}"
: "${ZOO_AUTOPURGE_SNAPRETAINCOUNT:=3}"
: "${ZOO_MAX_CLIENT_CNXNS:=60}"
: "${ZOO_STANDALONE_ENABLED:=true}"
: "${ZOO_ADMINSERVER_ENABLED:=false}"
: "${ZOO_4LW_COMMANDS_WHITELIST:=srvr,ruok,mntr,stat,conf,cons,wchc,wchs,dirs,isro}"
: "${ZOO_LOG_LEVEL:=INFO}"
export ZOO_CONF_DIR ZOO_DATA_DIR ZOO_DATA_LOG_DIR ZOO_LOG_LEVEL

mkdir -p "$ZOO_CONF_DIR" "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR"

cfg="$ZOO_CONF_DIR/zoo.cfg"
if [[ ! -f $cfg ]]; then
	{
		echo "dataDir=$ZOO_DATA_DIR"
		echo "dataLogDir=$ZOO_DATA_LOG_DIR"
		echo "tickTime=$ZOO_TICK_TIME"
		echo "initLimit=$ZOO_INIT_LIMIT"
		echo "syncLimit=$ZOO_SYNC_LIMIT"
		echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
		echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
		echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
		echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
		echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
		echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
		for server in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do
			echo "$server"
		done
		for extra in ${ZOO_CFG_EXTRA:-}; do
			echo "$extra"
		done
	} >"$cfg.tmp"
	mv "$cfg.tmp" "$cfg"
fi

if [[ ! -f $ZOO_DATA_DIR/myid ]]; then
	echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
fi

exec "$@"
