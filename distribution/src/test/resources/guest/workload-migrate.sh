# Sourced by /init with the share mounted on $M: live migration (MigrationIT). Before: a tree is
# looked up and read, and a writer holds $M/mig/log open, appending a numbered line every 0.1 s,
# also while the VM migrates. The host creates $M/mig/migrated once the guest runs on the
# destination; the guest then stops the writer (whose last line goes through the fd opened before
# the migration), appends through a second fd opened before, and checks that the log has every
# line, the tree still reads, and prints checksums for the host to compare.
# Files the host renames or deletes between source and destination (mig/victim/*) are held open
# from before; after the migration the guest reports how reading them ends (VALUE victim-*).
t_prepare() {
    mkdir -p $M/mig/tree/a/b/c $M/mig/tree/d $M/mig/victim
    i=0
    while [ $i -lt 20 ]; do
        echo "file $i" > $M/mig/tree/a/b/c/f$i
        echo "d $i" > $M/mig/tree/d/g$i
        i=$((i + 1))
    done
    dd if=/dev/urandom of=$M/mig/tree/a/big bs=1024 count=2048 2>/dev/null
    echo renamed-content > $M/mig/victim/renamed
    echo deleted-content > $M/mig/victim/deleted
    echo kept-content > $M/mig/victim/kept
    mkdir -p $M/mig/victim/gone-dir
    ls -lR $M/mig > /tmp/tree-before
    cat $M/mig/victim/renamed $M/mig/victim/deleted $M/mig/victim/kept > /dev/null
    md5sum $M/mig/tree/a/big | cut -d' ' -f1 > /tmp/big-before
}
check prepare t_prepare

writer() {
    exec 3>>$M/mig/log
    n=0
    while [ ! -e /tmp/stop ]; do
        echo "line $n" >&3
        n=$((n + 1))
        sleep 0.1
    done
    echo "line $n" >&3
    exec 3>&-
    echo $((n + 1)) > /tmp/lines
}
writer &
# Victims of host-side rename/delete: held open, read only after the migration.
exec 5<$M/mig/victim/renamed
exec 6<$M/mig/victim/deleted
exec 7<$M/mig/victim/kept
# Directories kept looked up (also with --cache=never) by processes whose cwd they are.
(cd $M/mig/tree/a/b/c && exec sleep 100000) &
echo $! > /tmp/holders
(cd $M/mig/victim/gone-dir && exec sleep 100000) &
echo $! >> /tmp/holders
# A second file, opened before the migration and written only after it.
exec 4>>$M/mig/second
echo before >&4
sleep 1
echo "MIGRATE-READY"

t_wait_migrated() {
    i=0
    while [ ! -e $M/mig/migrated ]; do
        i=$((i + 1))
        [ $i -lt 1200 ]
        sleep 0.25
    done
}
check wait-migrated t_wait_migrated
echo "GUEST-MIGRATED"
sleep 1

t_writer_continued() {
    touch /tmp/stop
    # (check runs in a subshell: the writer is not its child to wait for)
    i=0
    while [ ! -s /tmp/lines ]; do
        i=$((i + 1))
        [ $i -lt 100 ]
        sleep 0.1
    done
    n=$(cat /tmp/lines)
    [ "$n" -gt 5 ]
    [ "$(wc -l < $M/mig/log)" = "$n" ]
    i=0
    while read -r word num; do
        [ "$word $num" = "line $i" ]
        i=$((i + 1))
    done < $M/mig/log
    [ "$i" = "$n" ]
}
check writer-continued t_writer_continued
t_second_fd() {
    echo after >&4
    [ "$(cat $M/mig/second)" = "$(printf 'before\nafter')" ]
}
check second-fd t_second_fd
exec 4>&-
t_tree_reads() {
    ls -lR $M/mig/tree > /tmp/tree-after
    [ "$(cat $M/mig/tree/a/b/c/f7)" = "file 7" ]
    [ "$(cat $M/mig/tree/d/g19)" = "d 19" ]
    [ "$(md5sum $M/mig/tree/a/big | cut -d' ' -f1)" = "$(cat /tmp/big-before)" ]
    echo new > $M/mig/tree/a/b/c/new-after
    [ "$(cat $M/mig/tree/a/b/c/new-after)" = new ]
}
check tree-reads t_tree_reads
value log-md5 "$(md5sum $M/mig/log | cut -d' ' -f1)"
value big-md5 "$(md5sum $M/mig/tree/a/big | cut -d' ' -f1)"
value log-lines "$(cat /tmp/lines)"
victim() {
    if out=$(cat 2>&1); then
        value victim-$1 "read:$out"
    else
        value victim-$1 "error:$(echo "$out" | sed 's/.*: //' | tr ' ' '_')"
    fi
}
victim renamed <&5
victim deleted <&6
victim kept <&7
exec 5<&- 6<&- 7<&-
kill $(cat /tmp/holders) 2>/dev/null
sleep 0.5
sync
t_umount() {
    cd /
    umount $M
    fails grep -q " $M virtiofs " /proc/mounts
}
check umount t_umount
