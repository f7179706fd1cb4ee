# Sourced by /init with tag myfs mounted on $M. Tag update is mounted on $U: another daemon, without
# sandbox, so that it can read a new revision of a bundle from the host. Through each daemon's
# control socket the host switches the inode-identity strategy (fd -> handle -> fd ...); on myfs
# (default sandbox) it stops and starts the strategy bundle and converts inodes, on update it
# updates the strategy bundle, twice. Meanwhile this copies and checksums a tree into both shares,
# round after round, until the host creates .switch-done in both. Then one device per deployment
# profile (tags libvirt, kata, hardened) and one served by the third-party example strategy (tag
# hybrid) are mounted and used: one guest boot for all of them.

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# A source tree in guest memory: 3 levels, 120 small files, 4 of 256 KiB, a symlink.
t_make_tree() {
    mkdir -p /tmp/src
    for a in 0 1 2 3; do
        for b in 0 1 2; do
            mkdir -p /tmp/src/a$a/b$b
            for c in 0 1 2 3 4 5 6 7 8 9; do
                echo "file $a/$b/$c $(seq -s, 1 $((a * 30 + b * 10 + c)))" > /tmp/src/a$a/b$b/f$c
            done
        done
        dd if=/dev/urandom of=/tmp/src/a$a/big bs=64k count=4 2>/dev/null
    done
    ln -s a0/b0/f0 /tmp/src/link
    (cd /tmp/src && find . -type f | sort | xargs sha256sum) > /tmp/src.sha256
    [ "$(wc -l < /tmp/src.sha256)" = 124 ]
}

U=/u
t_mount_update() {
    mkdir -p $U
    mount -t virtiofs update $U
    grep -q " $U virtiofs " /proc/mounts
}

t_copy_while_switching() {
    : > $M/.guest-started
    : > $U/.guest-started
    round=0
    while { [ ! -e $M/.switch-done ] || [ ! -e $U/.switch-done ]; } && [ $round -lt 400 ]; do
        for s in $M $U; do
            cp -a /tmp/src $s/copy$round
            (cd $s/copy$round && sha256sum -c -s /tmp/src.sha256)
            [ "$(readlink $s/copy$round/link)" = a0/b0/f0 ]
            # read an earlier copy too: inodes made under another strategy (or bundle revision)
            if [ $round -ge 2 ]; then
                (cd $s/copy$((round - 2)) && sha256sum -c -s /tmp/src.sha256)
            fi
        done
        round=$((round + 1))
    done
    value rounds $round
    [ -e $M/.switch-done ]
    [ -e $U/.switch-done ]
    [ $round -ge 3 ]
}

t_verify_all_copies() {
    drop_caches
    n=0
    for d in $M/copy* $U/copy*; do
        (cd $d && sha256sum -c -s /tmp/src.sha256)
        n=$((n + 1))
    done
    value copies $n
    rm -rf $M/copy0 $U/copy0
    [ ! -e $M/copy0 ]
    [ ! -e $U/copy0 ]
    umount $U
    fails grep -q " $U " /proc/mounts
}

P=/p
t_profile_rw() {
    mkdir -p $P/$1
    mount -t virtiofs $1 $P/$1
    [ "$(cat $P/$1/from-host)" = "host $1" ]
    echo "guest $1" > $P/$1/from-guest
    drop_caches
    [ "$(cat $P/$1/from-guest)" = "guest $1" ]
    umount $P/$1
}
t_profile_libvirt() { t_profile_rw libvirt; }
t_profile_kata() { t_profile_rw kata; }
t_profile_hardened() {
    mkdir -p $P/hardened
    mount -t virtiofs hardened $P/hardened
    [ "$(cat $P/hardened/from-host)" = "host hardened" ]
    ls -l $P/hardened > /dev/null
    # read-only: every change is refused, nothing appears on the host
    fails sh -c "echo x > $P/hardened/from-guest" 2>/dev/null
    fails mkdir $P/hardened/d 2>/dev/null
    fails rm $P/hardened/from-host 2>/dev/null
    umount $P/hardened
}

t_hybrid() {
    mkdir -p $P/hybrid
    mount -t virtiofs hybrid $P/hybrid
    [ "$(cat $P/hybrid/from-host)" = "host hybrid" ]
    echo "guest hybrid" > $P/hybrid/from-guest
    cp -a /tmp/src $P/hybrid/copy
    drop_caches
    # twice: the second pass finds hot inodes with their cached O_PATH fds
    (cd $P/hybrid/copy && sha256sum -c -s /tmp/src.sha256)
    (cd $P/hybrid/copy && sha256sum -c -s /tmp/src.sha256)
    ls -lR $P/hybrid/copy > /dev/null
    umount $P/hybrid
}

t_umount() { sync; umount $M; fails grep -q " $M " /proc/mounts; }

check make-tree t_make_tree
check mount-update t_mount_update
check copy-while-switching t_copy_while_switching
check verify-all-copies t_verify_all_copies
check profile-libvirt t_profile_libvirt
check profile-kata t_profile_kata
check profile-hardened t_profile_hardened
check hybrid-strategy t_hybrid
check umount t_umount
