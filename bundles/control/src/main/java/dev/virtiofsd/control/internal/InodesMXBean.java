package dev.virtiofsd.control.internal;

import java.util.Map;

/** {@code dev.virtiofsd:type=Inodes}: the inode figures of the {@code stats} command. */
public interface InodesMXBean {
    String getStrategy();

    long getInodes();

    Map<String, Long> getInodesByKind();

    Map<String, Long> getInodesByStrategy();

    long getInodeFds();

    long getOpenFds();

    long getOpenFiles();

    /** As {@code strategy NAME}: new inodes get NAME from now on. */
    void switchStrategy(String name) throws Exception;

    /** As {@code convert MAX}. */
    String convertFdInodes(long max);
}
