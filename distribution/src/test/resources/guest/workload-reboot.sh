# Sourced by /init with the share mounted on $M. First boot: write a marker and
# reboot -f with the share still mounted (device reset under live inodes).
# Second boot (marker found): check the marker, write again, unmount, power off.
t_first_boot() {
    mkdir -p $M/reboot/many
    i=0
    while [ $i -lt 50 ]; do echo $i > $M/reboot/many/f$i; i=$((i + 1)); done
    ls -l $M/reboot/many > /dev/null
    echo before-reboot > $M/reboot/boot1
    sync
}
t_second_boot() {
    [ "$(cat $M/reboot/boot1)" = before-reboot ]
    echo after-reboot > $M/reboot/boot2
    sync
    [ "$(cat $M/reboot/boot2)" = after-reboot ]
    ls -l $M/reboot | grep -q boot1
    [ "$(ls $M/reboot/many | wc -l)" = 50 ]
    [ "$(cat $M/reboot/many/f49)" = 49 ]
    rm -r $M/reboot/many
}
t_umount() {
    cd /
    umount $M
    fails grep -q " $M virtiofs " /proc/mounts
}

if [ -f $M/reboot/boot1 ]; then
    check second-boot t_second_boot
    check umount t_umount
else
    check first-boot t_first_boot
    # reset the device with inodes looked up and a file open
    exec 3< $M/reboot/boot1
    echo "GUEST-REBOOTING uptime=$(now)"
    reboot -f
    sleep 10
fi
