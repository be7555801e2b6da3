#!/bin/bash
# A stand-in for ZooKeeper's zkServer.sh, so that the official image's
# command (`zkServer.sh start-foreground`) works here too. The server runs
# as this process (PID 1 in a container), logging to stdout.
#   zkServer.sh start-foreground [zoo.cfg]   run the server
#   zkServer.sh status                        exit 0 when it serves (see zk-healthcheck)
set -euo pipefail

case "${1:-start-foreground}" in
start-foreground) ;;
status) exec zk-healthcheck ;;
*)
	echo "zkServer.sh: only start-foreground and status are supported in this image" >&2
	exit 2
	;;
esac

conf_dir=${ZOO_CONF_DIR:-/conf}
cfg=${2:-$conf_dir/zoo.cfg}
log4j=$conf_dir/log4j.properties
if [[ ! -f $log4j ]]; then
	cat >"$log4j" <<PROPS
log4j.rootLogger=${ZOO_LOG_LEVEL:-INFO}, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.Target=System.out
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [myid:%X{myid}] [%t:%C{1}@%L] - %m%n
PROPS
fi

# zookeeper.jar's manifest names its dependencies, but not a logging binding.
cp=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar

# Word splitting of the flag variables is intended.
# shellcheck disable=SC2086
exec java \
	-Xmx"${ZK_SERVER_HEAP:-256}"m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -XX:-UsePerfData \
	-Djava.net.preferIPv4Stack=true \
	-Djava.security.properties=/usr/local/etc/zookeeper/java.security \
	-Dlog4j.configuration=file:"$log4j" -Dzookeeper.jmx.log4j.disable=true \
	${SERVER_JVMFLAGS:-} ${JVMFLAGS:-} \
	-cp "$cp" org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg"
