# Sourced by /init with the share mounted on $M: one check per op class.
# Checks run as "check NAME FUNCTION"; functions run under set -e.

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

t_root_chmod() { chmod 755 $M; [ "$(stat -c %a $M)" = 755 ]; }
t_create() {
    echo hello > $M/f1
    [ "$(cat $M/f1)" = hello ]
    [ "$(stat -c %s $M/f1)" = 6 ]
}
t_write_read() {
    printf abcdef > $M/f2
    printf XY | dd of=$M/f2 bs=1 seek=2 conv=notrunc 2>/dev/null
    drop_caches
    [ "$(cat $M/f2)" = abXYef ]
}
t_append() {
    echo world >> $M/f1
    drop_caches
    [ "$(wc -l < $M/f1)" = 2 ]
    [ "$(tail -n 1 $M/f1)" = world ]
}
t_truncate() {
    truncate -s 3 $M/f2
    [ "$(stat -c %s $M/f2)" = 3 ]
    [ "$(cat $M/f2)" = abX ]
    truncate -s 100000 $M/f2
    drop_caches
    [ "$(stat -c %s $M/f2)" = 100000 ]
    : > $M/f2
    [ "$(stat -c %s $M/f2)" = 0 ]
}
t_unlink() {
    echo gone > $M/f3
    rm $M/f3
    [ ! -e $M/f3 ]
    fails cat $M/f3 2>/dev/null
}
t_mkdir_rmdir() {
    mkdir -p $M/d1/d2/d3
    [ -d $M/d1/d2/d3 ]
    rmdir $M/d1/d2/d3 $M/d1/d2
    echo x > $M/d1/keep
    fails rmdir $M/d1 2>/dev/null
    rm $M/d1/keep
    rmdir $M/d1
    [ ! -e $M/d1 ]
}
t_rename() {
    echo a > $M/r1
    mv $M/r1 $M/r2
    [ ! -e $M/r1 ]
    [ "$(cat $M/r2)" = a ]
    echo b > $M/r3
    mv $M/r3 $M/r2
    [ "$(cat $M/r2)" = b ]
    mkdir -p $M/rd1/sub $M/rd2
    echo c > $M/rd1/sub/x
    mv $M/rd1/sub $M/rd2/moved
    drop_caches
    [ "$(cat $M/rd2/moved/x)" = c ]
    [ ! -e $M/rd1/sub ]
}
t_link() {
    ln $M/r2 $M/l2
    [ "$(stat -c %h $M/r2)" = 2 ]
    [ "$(stat -c %i $M/r2)" = "$(stat -c %i $M/l2)" ]
    rm $M/l2
    drop_caches
    [ "$(stat -c %h $M/r2)" = 1 ]
    ln $M/r2 $M/hardlink
}
t_symlink() {
    ln -s r2 $M/s2
    [ -L $M/s2 ]
    [ "$(readlink $M/s2)" = r2 ]
    [ "$(cat $M/s2)" = b ]
    ln -s does-not-exist $M/dangling
    [ "$(readlink $M/dangling)" = does-not-exist ]
    fails cat $M/dangling 2>/dev/null
}
t_chmod() {
    chmod 640 $M/r2
    drop_caches
    [ "$(stat -c %a $M/r2)" = 640 ]
    chmod 755 $M/rd2
    [ "$(stat -c %a $M/rd2)" = 755 ]
}
t_chown() {
    chown 1000:1000 $M/r2
    drop_caches
    [ "$(stat -c %u:%g $M/r2)" = 1000:1000 ]
    chown 0:0 $M/r2
    [ "$(stat -c %u:%g $M/r2)" = 0:0 ]
}
as_user() { su -s /bin/sh user -c "$1"; }
t_nonroot() {
    mkdir $M/user
    chown 1000:1000 $M/user
    as_user "echo mine > $M/user/uf && mkdir $M/user/ud && touch $M/user/ud/x && id -u > $M/user/whoami"
    [ "$(stat -c %u:%g $M/user/uf)" = 1000:1000 ]
    [ "$(stat -c %u:%g $M/user/ud/x)" = 1000:1000 ]
    [ "$(cat $M/user/whoami)" = 1000 ]
    [ "$(as_user "cat $M/user/uf")" = mine ]
    as_user "chmod 600 $M/user/uf"
    [ "$(stat -c %a $M/user/uf)" = 600 ]
}
t_nonroot_denied() {
    mkdir $M/private
    chmod 700 $M/private
    echo secret > $M/private/s
    fails as_user "ls $M/private" 2>/dev/null
    fails as_user "cat $M/private/s" 2>/dev/null
    fails as_user "echo x > $M/notmine" 2>/dev/null
    [ ! -e $M/notmine ]
    fails as_user "chown 1000 $M/f1" 2>/dev/null
}
t_fifo() {
    mkfifo $M/fifo
    [ -p $M/fifo ]
    (echo piped > $M/fifo) &
    [ "$(cat $M/fifo)" = piped ]
    wait
}
t_xattr() {
    setfattr -n user.vtest -v hello $M/f1
    [ "$(getfattr --only-values -n user.vtest $M/f1)" = hello ]
    getfattr -d $M/f1 | grep -q '^user.vtest="hello"'
    setfattr -n user.dirattr -v d $M/rd2
    [ "$(getfattr --only-values -n user.dirattr $M/rd2)" = d ]
    setfattr -x user.vtest $M/f1
    fails getfattr -n user.vtest $M/f1 2>/dev/null
    setfattr -n user.keep -v kept $M/f1
}
t_xattr_disabled() {
    # without --xattr the daemon answers setxattr with ENOSYS/EOPNOTSUPP
    fails setfattr -n user.vtest -v hello $M/f1 2>/dev/null
}
t_times_fsync_fallocate() {
    echo t > $M/times
    touch -m -d '2020-01-02 03:04:05' $M/times
    drop_caches
    [ "$(date -u -d @"$(stat -c %Y $M/times)" '+%Y-%m-%d %H:%M:%S')" = '2020-01-02 03:04:05' ] \
        || [ "$(stat -c %y $M/times | cut -c1-19)" = '2020-01-02 03:04:05' ]
    sync $M/times        # fsync
    sync -d $M/times     # fdatasync
    fallocate -l 1048576 $M/times
    [ "$(stat -c %s $M/times)" = 1048576 ]
    rm $M/times
}
t_statfs() {
    stat -f $M >/dev/null
    df $M | tail -n 1 | grep -q .
}
t_many() {
    mkdir $M/many
    c0=$(now)
    i=0
    while [ $i -lt 1000 ]; do : > $M/many/file-$i; i=$((i + 1)); done
    timing many.create "$c0"
    drop_caches
    l0=$(now)
    [ "$(ls -l $M/many | grep -c '^-')" = 1000 ]
    timing many.ls-l "$l0"
    [ "$(ls $M/many | wc -l)" = 1000 ]
}
t_big() {
    dd if=/dev/urandom of=/tmp/big bs=1M count=64 2>/dev/null
    want=$(sha256sum /tmp/big | cut -d' ' -f1)
    value big.written.sha256 "$want"
    w0=$(now)
    dd if=/tmp/big of=$M/big bs=1M 2>/dev/null
    sync
    timing big.write "$w0"
    rm /tmp/big
    drop_caches
    r0=$(now)
    got=$(sha256sum $M/big | cut -d' ' -f1)
    timing big.read "$r0"
    value big.read.sha256 "$got"
    [ "$got" = "$want" ]
    [ "$(stat -c %s $M/big)" = 67108864 ]
}
t_submount() {
    # The host mounted a tmpfs at sub/ inside the share before the daemon started; announced
    # as a submount (FUSE_ATTR_SUBMOUNT), the guest mounts it on its own, with its own st_dev.
    [ "$(cat $M/sub/marker)" = submount ]
    grep -q " $M/sub virtiofs " /proc/mounts
    [ "$(stat -c %d $M)" != "$(stat -c %d $M/sub)" ]
    echo guest > $M/sub/from-guest
    umount $M/sub
}
t_sync() { sync; }
t_umount() {
    cd /
    umount $M
    fails grep -q " $M virtiofs " /proc/mounts
}

check root-chmod t_root_chmod
check create t_create
check write-read t_write_read
check append t_append
check truncate t_truncate
check unlink t_unlink
check mkdir-rmdir t_mkdir_rmdir
check rename t_rename
check link t_link
check symlink-readlink t_symlink
check chmod t_chmod
check chown t_chown
check nonroot t_nonroot
check nonroot-denied t_nonroot_denied
check mkfifo t_fifo
if [ "$XATTR" = 1 ]; then
    check xattr t_xattr
else
    check xattr-disabled t_xattr_disabled
fi
check times-fsync-fallocate t_times_fsync_fallocate
check statfs t_statfs
check ls-1000 t_many
check big-64MiB t_big
check submount t_submount
check sync t_sync
check umount t_umount
