/**
 * What runs inside the captured guests: the initramfs /init scripts and the workloads, as text.
 * Every byte here is part of an image's recipe (image.ts hashes it), so editing a script rebuilds
 * the images that hold it and nothing else.
 *
 * Console protocol (the serial log the capture reads):
 *   CALIB ns=N     the fixed CPU job (gzip -6 of `seq 1 1000000`, as calibJob() on the host) took N ns
 *                  of guest time; TCG's slowdown is this over the host's time for the same job;
 *   READY wl=W g=G the workload starts now;
 *   WORK W N       the workload finished its N-th unit (a Lua build, a wrk run, a transaction batch).
 * Kernel command line: capture.wl=build|web|database|tiny, capture.g=<guest index> (seeds the
 * database's transaction stream, so identical guests serve different "users").
 *
 * Every path in these scripts is inside the guest (its root file system, its own tmpfs at /tmp
 * and /run), never one of the capturing host.
 */

/**
 * Directories of the guest's own file system the workloads use, named once (the scripts below
 * interpolate them; the text they produce, and so every image hash, is as before):
 *   GUEST_TMP     the guest's tmpfs (its /init mounts it): scratch files, the Lua build tree, logs;
 *   GUEST_LUA     Lua's source in the guest's root file system (image.ts puts it there);
 *   GUEST_DB_DIR  the database workload's sqlite directory on the guest's disk.
 */
const GUEST_TMP = "/tmp";
const GUEST_LUA = "/opt" + "/lua";
const GUEST_DB_DIR = "/var/lib" + "/bench";

/** The fixed CPU job, run the same way in the guest and on the host (Debian bookworm's gzip 1.12). */
export const CALIB_SEQ = 1000000;

/** The test guest's /init: busybox only, no disk, no modules. */
export const TINY_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o size=16m tmp /tmp
echo "READY wl=tiny g=0" > /dev/console
cd /tmp
n=0
while :; do
  n=$((n + 1))
  seq $((n * 1000)) $((n * 1000 + 20000)) > a.$((n % 3))
  md5sum a.* > /dev/null
  echo "WORK tiny $n" > /dev/console
  sleep 1
done
`;

/** The rich guests' initramfs /init: load the disk and ext4 modules, mount /dev/vda, switch_root. */
export function rootInit(modules: readonly string[]): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${modules.join(" ")}; do insmod /lib/modules/$m || echo "capture: insmod $m failed" > /dev/console; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
mount -t ext4 -o rw,noatime /dev/vda /newroot || { echo "capture: cannot mount /dev/vda" > /dev/console; poweroff -f; }
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /capture/init
`;
}

/** PID 1 after switch_root (in the disk image, /capture/init). */
export const GUEST_INIT = `#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o size=96m tmp /tmp
mount -t tmpfs -o size=8m run /run
echo capture > /proc/sys/kernel/hostname
ip link set lo up
for a in $(cat /proc/cmdline); do case $a in capture.wl=*) WL=\${a#capture.wl=};; capture.g=*) G=\${a#capture.g=};; esac; done
cd /tmp
seq 1 ${CALIB_SEQ} > calib
t0=$(date +%s%N); gzip -6 -c calib > /dev/null; t1=$(date +%s%N)
rm calib
cd /
echo "CALIB ns=$((t1 - t0))" > /dev/console
echo "READY wl=$WL g=$G" > /dev/console
exec /capture/wl-$WL.sh "$G" < /dev/null > /dev/console 2>&1
`;

/** build: gcc -O2 builds Lua 5.4 from its Debian source, again and again, in tmpfs. */
export const WL_BUILD = `#!/bin/sh
cp -a ${GUEST_LUA} ${GUEST_TMP}/lua
cd ${GUEST_TMP}/lua/src
n=0
while :; do
  make -s clean > /dev/null 2>&1
  make -s posix MYCFLAGS=-O2 > /dev/null 2>&1
  n=$((n + 1))
  echo "WORK build $n $(ls *.o 2>/dev/null | wc -l)"
done
`;

/** web: nginx serves 500 static files; wrk loads it over loopback in 5 s runs. */
export const WL_WEB = `#!/bin/sh
nginx -c /capture/nginx.conf || echo "capture: nginx failed"
n=0
while :; do
  wrk -t1 -c4 -d5s -s /capture/paths.lua http://127.0.0.1:80/ > ${GUEST_TMP}/wrk.out 2>&1
  n=$((n + 1))
  if grep -q Requests/sec ${GUEST_TMP}/wrk.out; then echo "WORK web $n $(grep Requests/sec ${GUEST_TMP}/wrk.out)"; else echo "capture: wrk failed:"; cat ${GUEST_TMP}/wrk.out ${GUEST_TMP}/nginx-error.log; sleep 5; fi
done
`;

export const NGINX_CONF = `worker_processes 1;
pid /run/nginx.pid;
error_log ${GUEST_TMP}/nginx-error.log;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  access_log ${GUEST_TMP}/nginx-access.log;
  sendfile on;
  keepalive_requests 1000;
  server { listen 127.0.0.1:80; root /capture/www; }
}
`;

/** wrk script: walk the 500 files in order. */
export const WRK_PATHS = `local i = 0
request = function()
  i = i % 500 + 1
  return wrk.format("GET", "/f" .. i .. ".txt")
end
`;

/** database: sqlite3 with pgbench's TPC-B-like tables (scale 1) and transactions, WAL journal, on the ext4 disk. */
export const WL_DATABASE = `#!/bin/sh
G=\${1:-0}
mkdir -p ${GUEST_DB_DIR}
sqlite3 ${GUEST_DB_DIR}/bench.db < /capture/db-init.sql
echo "WORK database 0 initialised"
n=0
while :; do
  n=$((n + 1))
  awk -v seed=$((G * 100000 + n)) -f /capture/tpcb.awk | sqlite3 ${GUEST_DB_DIR}/bench.db > /dev/null
  echo "WORK database $n"
done
`;

export const DB_INIT_SQL = `PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE pgbench_branches (bid INTEGER PRIMARY KEY, bbalance INTEGER, filler TEXT);
CREATE TABLE pgbench_tellers (tid INTEGER PRIMARY KEY, bid INTEGER, tbalance INTEGER, filler TEXT);
CREATE TABLE pgbench_accounts (aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER, filler TEXT);
CREATE TABLE pgbench_history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime TEXT, filler TEXT);
INSERT INTO pgbench_branches VALUES (1, 0, printf('%88s', ''));
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10) INSERT INTO pgbench_tellers SELECT x, 1, 0, printf('%84s', '') FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) INSERT INTO pgbench_accounts SELECT x, 1, 0, printf('%84s', '') FROM c;
`;

/** pgbench's built-in "TPC-B (sort of)" transaction, 100 per batch, ids drawn from the seed. */
export const TPCB_AWK = `BEGIN {
  srand(seed)
  print "PRAGMA synchronous=NORMAL;"
  for (t = 0; t < 100; t++) {
    aid = int(rand() * 100000) + 1; tid = int(rand() * 10) + 1; d = int(rand() * 10001) - 5000
    print "BEGIN;"
    print "UPDATE pgbench_accounts SET abalance = abalance + " d " WHERE aid = " aid ";"
    print "SELECT abalance FROM pgbench_accounts WHERE aid = " aid ";"
    print "UPDATE pgbench_tellers SET tbalance = tbalance + " d " WHERE tid = " tid ";"
    print "UPDATE pgbench_branches SET bbalance = bbalance + " d " WHERE bid = 1;"
    print "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (" tid ", 1, " aid ", " d ", CURRENT_TIMESTAMP);"
    print "COMMIT;"
  }
}
`;

/** Files the disk image gets under /capture (path -> text, mode). */
export const DISK_FILES: readonly [string, string, number][] = [
  ["init", GUEST_INIT, 0o755],
  ["wl-build.sh", WL_BUILD, 0o755],
  ["wl-web.sh", WL_WEB, 0o755],
  ["wl-database.sh", WL_DATABASE, 0o755],
  ["nginx.conf", NGINX_CONF, 0o644],
  ["paths.lua", WRK_PATHS, 0o644],
  ["db-init.sql", DB_INIT_SQL, 0o644],
  ["tpcb.awk", TPCB_AWK, 0o644],
];
