package dev.virtiofsd.api.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InitFlagsTest {
    /** Bit numbers as include/uapi/linux/fuse.h writes them (FUSE_X (1 << n), flags2 bits as 32 + n). */
    private static final Map<String, Integer> FUSE_H = new HashMap<>();

    static {
        String[] low = {
            "ASYNC_READ",
            "POSIX_LOCKS",
            "FILE_OPS",
            "ATOMIC_O_TRUNC",
            "EXPORT_SUPPORT",
            "BIG_WRITES",
            "DONT_MASK",
            "SPLICE_WRITE",
            "SPLICE_MOVE",
            "SPLICE_READ",
            "FLOCK_LOCKS",
            "HAS_IOCTL_DIR",
            "AUTO_INVAL_DATA",
            "DO_READDIRPLUS",
            "READDIRPLUS_AUTO",
            "ASYNC_DIO",
            "WRITEBACK_CACHE",
            "NO_OPEN_SUPPORT",
            "PARALLEL_DIROPS",
            "HANDLE_KILLPRIV",
            "POSIX_ACL",
            "ABORT_ERROR",
            "MAX_PAGES",
            "CACHE_SYMLINKS",
            "NO_OPENDIR_SUPPORT",
            "EXPLICIT_INVAL_DATA",
            "MAP_ALIGNMENT",
            "SUBMOUNTS",
            "HANDLE_KILLPRIV_V2",
            "SETXATTR_EXT",
            "INIT_EXT"
        };
        for (int i = 0; i < low.length; i++) {
            FUSE_H.put(low[i], i);
        }
        String[] high = {"SECURITY_CTX", "HAS_INODE_DAX", "CREATE_SUPP_GROUP", "HAS_EXPIRE_ONLY", "DIRECT_IO_ALLOW_MMAP"
        };
        for (int i = 0; i < high.length; i++) {
            FUSE_H.put(high[i], 32 + i);
        }
    }

    @Test
    void everyFlagIsTheBitFuseHGivesIt() throws Exception {
        int seen = 0;
        long all = 0;
        for (Field f : InitFlags.class.getFields()) {
            assertTrue(Modifier.isStatic(f.getModifiers()) && Modifier.isFinal(f.getModifiers()), f.getName());
            long v = f.getLong(null);
            Integer bit = FUSE_H.get(f.getName());
            assertTrue(bit != null, f.getName() + " is not in fuse.h's list");
            assertEquals(1L << bit, v, f.getName());
            assertEquals(0, all & v, f.getName() + " shares a bit");
            all |= v;
            seen++;
        }
        assertEquals(FUSE_H.size(), seen, "every fuse.h flag defined");
    }

    @Test
    void flags2FlagsLiveInTheHighWord() {
        assertEquals(1, InitFlags.SECURITY_CTX >>> 32);
        assertEquals(0, (int) InitFlags.DIRECT_IO_ALLOW_MMAP);
        assertEquals(1L << 30, InitFlags.INIT_EXT);
    }
}
