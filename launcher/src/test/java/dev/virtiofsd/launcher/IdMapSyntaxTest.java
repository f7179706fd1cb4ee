package dev.virtiofsd.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IdMapSyntaxTest {
    @ParameterizedTest
    @CsvSource(
            delimiter = '#',
            value = {
                "guest:0:1000:1#guest:0:1000:1",
                "host:1001:1000:1#host:1001:1000:1",
                "squash-guest:0:1001:4294967295#squash-guest:0:1001:4294967295",
                "squash-host/5/6/7#squash-host:5:6:7",
                "forbid-guest:100:10#forbid-guest:100:10",
                "MAP:0:100000:65536#map:0:100000:65536"
            })
    void everyTypeOfTranslation(String in, String canonical) {
        assertEquals(canonical, IdMapSyntax.translation(in));
    }

    @ParameterizedTest
    @ValueSource(strings = {"guest:1:2", "forbid-guest:1:2:3", "bogus:1:2:3", "guest:1:x:3", "guest:-1:2:3", "map"})
    void badTranslationsAreRefused(String in) {
        assertThrows(IllegalArgumentException.class, () -> IdMapSyntax.translation(in));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '#',
            value = {":0:100000:65536:#0,100000,65536", "/1/1000/1/#1,1000,1"})
    void namespaceRanges(String in, String expected) {
        String[] e = expected.split(",", -1);
        assertArrayEquals(
                new long[] {Long.parseLong(e[0]), Long.parseLong(e[1]), Long.parseLong(e[2])},
                IdMapSyntax.namespaceRange(in));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0:1:1", ":0:1:1", ":0:1:", ":0:1:1:2:", "", ":a:b:c:"})
    void badNamespaceRangesAreRefused(String in) {
        assertThrows(IllegalArgumentException.class, () -> IdMapSyntax.namespaceRange(in));
    }
}
