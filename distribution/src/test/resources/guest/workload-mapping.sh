# Sourced by /init: the daemon runs with --xattrmap=:map::user.virtiofs.: and
# --translate-uid/--translate-gid map:1000:2000:10 / map:1000:3000:10, forbid-guest:1500:1.
# The host prepared hostx (xattrs user.virtiofs.user.hostset=h, user.plain=p) and ids/ with files of
# host ids 2005:3007 and 4242:4242, ids/ itself 2000:3000.
as_user() { su -s /bin/sh user -c "$1"; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

t_xattrmap() {
    echo x > $M/xm
    vfstool setx $M/xm user.color red
    vfstool setx $M/xm trusted.t tv
    [ "$(vfstool getx $M/xm user.color)" = red ]
    [ "$(vfstool getx $M/xm trusted.t)" = tv ]
    vfstool listx $M/xm | grep -qx user.color
    vfstool listx $M/xm | grep -qx trusted.t
    # host names under the prefix appear without it; the others are hidden
    [ "$(vfstool getx $M/hostx user.hostset)" = h ]
    [ "$(vfstool listx $M/hostx)" = user.hostset ]
    fails vfstool getx $M/hostx user.plain 2>/dev/null
    vfstool rmx $M/xm trusted.t
    fails vfstool getx $M/xm trusted.t 2>/dev/null
}
t_translate_uid() {
    drop_caches
    [ "$(stat -c %u:%g $M/ids)" = 1000:1000 ]
    [ "$(stat -c %u:%g $M/ids/h2005)" = 1005:1007 ]
    # outside every range: unchanged
    [ "$(stat -c %u:%g $M/ids/h4242)" = 4242:4242 ]
    as_user "echo mine > $M/ids/g1000 && mkdir $M/ids/gd"
    [ "$(stat -c %u:%g $M/ids/g1000)" = 1000:1000 ]
    echo c > $M/ids/chowned
    chown 1003:1004 $M/ids/chowned
    drop_caches
    [ "$(stat -c %u:%g $M/ids/chowned)" = 1003:1004 ]
    # forbid-guest: EPERM
    echo f > $M/ids/forbidden
    fails chown 1500 $M/ids/forbidden 2>/dev/null
    [ "$(stat -c %u $M/ids/forbidden)" = 0 ]
}

check xattrmap t_xattrmap
check translate-uid t_translate_uid
t_umount_simple() { cd /; umount $M; fails grep -q " $M virtiofs " /proc/mounts; }
check umount t_umount_simple
