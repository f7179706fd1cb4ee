package dev.virtiofsd.api.fs;

/** Reply of GETATTR and SETATTR: attributes and how long the client may cache them. */
public final class AttrOut {
    public final Attr attr = new Attr();
    /** Attribute cache timeout in nanoseconds. */
    public long attrTimeoutNanos;

    public void clear() {
        attr.clear();
        attrTimeoutNanos = 0;
    }
}
