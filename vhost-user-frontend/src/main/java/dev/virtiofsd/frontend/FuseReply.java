package dev.virtiofsd.frontend;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** A FUSE reply as the guest would see it: out header plus body. */
public final class FuseReply {
    private final byte[] bytes;
    private final int usedLen;

    public FuseReply(byte[] bytes, int usedLen) {
        this.bytes = bytes;
        this.usedLen = usedLen;
    }

    /** The length the device put in the used ring. */
    public int usedLength() {
        return usedLen;
    }

    /** All reply bytes (usedLength of them). */
    public byte[] bytes() {
        return bytes;
    }

    public int headerLength() {
        return bytes.length >= 4 ? buffer().getInt(0) : -1;
    }

    /** The negative errno of the out header, 0 on success. */
    public int error() {
        return bytes.length >= 8 ? buffer().getInt(4) : Integer.MIN_VALUE;
    }

    public long unique() {
        return bytes.length >= 16 ? buffer().getLong(8) : -1;
    }

    /** The body after the 16-byte out header, little-endian. */
    public ByteBuffer body() {
        return ByteBuffer.wrap(bytes, 16, Math.max(0, bytes.length - 16))
                .slice()
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    private ByteBuffer buffer() {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** nodeid of an entry reply (LOOKUP, CREATE, MKDIR...). */
    public long nodeId() {
        return body().getLong(0);
    }

    /** fh of an OPEN reply. */
    public long fh() {
        return body().getLong(0);
    }

    /** fh of a CREATE reply (after the 128-byte entry). */
    public long createFh() {
        return body().getLong(128);
    }

    /** The body's bytes. */
    public byte[] data() {
        byte[] d = new byte[Math.max(0, bytes.length - 16)];
        System.arraycopy(bytes, 16, d, 0, d.length);
        return d;
    }

    @Override
    public String toString() {
        return "FuseReply[len=" + headerLength() + ", error=" + error() + ", used=" + usedLen + "]";
    }
}
