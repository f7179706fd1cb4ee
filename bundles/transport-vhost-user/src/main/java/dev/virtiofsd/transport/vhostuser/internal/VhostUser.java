package dev.virtiofsd.transport.vhostuser.internal;

/** vhost-user message codes, flags and feature bits (QEMU docs/interop/vhost-user.rst). */
public final class VhostUser {
    public static final int HEADER_SIZE = 12;
    /** Largest payload accepted: SET_MEM_TABLE with 8 regions is 8 + 8 * 32. */
    public static final int MAX_PAYLOAD = 4096;

    public static final int VERSION = 0x1;
    public static final int FLAG_REPLY = 0x4;
    public static final int FLAG_NEED_REPLY = 0x8;
    public static final int VERSION_MASK = 0x3;

    public static final int GET_FEATURES = 1;
    public static final int SET_FEATURES = 2;
    public static final int SET_OWNER = 3;
    public static final int RESET_OWNER = 4;
    public static final int SET_MEM_TABLE = 5;
    public static final int SET_LOG_BASE = 6;
    public static final int SET_LOG_FD = 7;
    public static final int SET_VRING_NUM = 8;
    public static final int SET_VRING_ADDR = 9;
    public static final int SET_VRING_BASE = 10;
    public static final int GET_VRING_BASE = 11;
    public static final int SET_VRING_KICK = 12;
    public static final int SET_VRING_CALL = 13;
    public static final int SET_VRING_ERR = 14;
    public static final int GET_PROTOCOL_FEATURES = 15;
    public static final int SET_PROTOCOL_FEATURES = 16;
    public static final int GET_QUEUE_NUM = 17;
    public static final int SET_VRING_ENABLE = 18;
    public static final int GET_CONFIG = 24;
    public static final int SET_CONFIG = 25;
    public static final int RESET_DEVICE = 34;
    public static final int GET_MAX_MEM_SLOTS = 36;
    public static final int ADD_MEM_REG = 37;
    public static final int REM_MEM_REG = 38;
    public static final int SET_STATUS = 39;
    public static final int GET_STATUS = 40;
    public static final int SET_DEVICE_STATE_FD = 42;
    public static final int CHECK_DEVICE_STATE = 43;

    /** The back end logs every write to guest memory while this feature is acked (live migration). */
    public static final long F_LOG_ALL = 1L << 26;

    public static final long F_INDIRECT_DESC = 1L << 28;
    public static final long F_EVENT_IDX = 1L << 29;
    public static final long F_PROTOCOL_FEATURES = 1L << 30;
    public static final long F_VERSION_1 = 1L << 32;

    public static final long PF_MQ = 1L << 0;
    /** The dirty log is shared memory passed with SET_LOG_BASE. */
    public static final long PF_LOG_SHMFD = 1L << 1;

    public static final long PF_REPLY_ACK = 1L << 3;
    public static final long PF_CONFIG = 1L << 9;
    public static final long PF_RESET_DEVICE = 1L << 13;
    public static final long PF_CONFIGURE_MEM_SLOTS = 1L << 15;
    /** SET_DEVICE_STATE_FD / CHECK_DEVICE_STATE: the back end's internal state moves with the VM. */
    public static final long PF_DEVICE_STATE = 1L << 19;

    /** SET_VRING_ADDR flag: log writes to the used ring at {@code log_guest_addr}. */
    public static final int VRING_F_LOG = 1;

    /** SET_DEVICE_STATE_FD transfer directions and phase. */
    public static final int STATE_DIRECTION_SAVE = 0;

    public static final int STATE_DIRECTION_LOAD = 1;
    public static final int STATE_PHASE_STOPPED = 0;

    /** Bit in the u64 of SET_VRING_KICK/CALL/ERR: no fd attached (polling / no notification). */
    public static final long VRING_NOFD_MASK = 0x100;

    public static final long VRING_IDX_MASK = 0xff;

    /** Memory slots we accept (QEMU uses at most 8 with SET_MEM_TABLE; ADD_MEM_REG may use more). */
    public static final int MAX_MEM_SLOTS = 32;

    private VhostUser() {}

    public static String name(int request) {
        switch (request) {
            case GET_FEATURES:
                return "GET_FEATURES";
            case SET_FEATURES:
                return "SET_FEATURES";
            case SET_OWNER:
                return "SET_OWNER";
            case RESET_OWNER:
                return "RESET_OWNER";
            case SET_MEM_TABLE:
                return "SET_MEM_TABLE";
            case SET_LOG_BASE:
                return "SET_LOG_BASE";
            case SET_LOG_FD:
                return "SET_LOG_FD";
            case SET_VRING_NUM:
                return "SET_VRING_NUM";
            case SET_VRING_ADDR:
                return "SET_VRING_ADDR";
            case SET_VRING_BASE:
                return "SET_VRING_BASE";
            case GET_VRING_BASE:
                return "GET_VRING_BASE";
            case SET_VRING_KICK:
                return "SET_VRING_KICK";
            case SET_VRING_CALL:
                return "SET_VRING_CALL";
            case SET_VRING_ERR:
                return "SET_VRING_ERR";
            case GET_PROTOCOL_FEATURES:
                return "GET_PROTOCOL_FEATURES";
            case SET_PROTOCOL_FEATURES:
                return "SET_PROTOCOL_FEATURES";
            case GET_QUEUE_NUM:
                return "GET_QUEUE_NUM";
            case SET_VRING_ENABLE:
                return "SET_VRING_ENABLE";
            case GET_CONFIG:
                return "GET_CONFIG";
            case SET_CONFIG:
                return "SET_CONFIG";
            case RESET_DEVICE:
                return "RESET_DEVICE";
            case GET_MAX_MEM_SLOTS:
                return "GET_MAX_MEM_SLOTS";
            case ADD_MEM_REG:
                return "ADD_MEM_REG";
            case REM_MEM_REG:
                return "REM_MEM_REG";
            case SET_STATUS:
                return "SET_STATUS";
            case GET_STATUS:
                return "GET_STATUS";
            case SET_DEVICE_STATE_FD:
                return "SET_DEVICE_STATE_FD";
            case CHECK_DEVICE_STATE:
                return "CHECK_DEVICE_STATE";
            default:
                return "request " + request;
        }
    }
}
