package io.credlink.console;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;

import org.apache.kafka.common.serialization.Deserializer;

/**
 * Lets kafka-console-consumer's DefaultMessageFormatter print keys, values and header values as
 * base64 ({@code --property key.deserializer=io.credlink.console.Base64Deserializer}, likewise
 * {@code value.deserializer} and {@code headers.deserializer}), so that every byte survives a
 * line-based pipe. {@link Base64RecordReader} reads the lines back.
 *
 * <p>The formatter hands a null field to its deserializer as the bytes of its
 * {@code null.literal} ({@code null} unless set), so a field whose bytes equal that literal
 * cannot be told from null: both print as {@link #NULL}. To move that collision out of the way,
 * give the formatter's {@code null.literal} and each deserializer's ({@code
 * key.deserializer.null.literal}, ...) the same value, one that does not occur in the data.
 */
public final class Base64Deserializer implements Deserializer<String> {
    /** Printed for a null field; not a base64 string. */
    public static final String NULL = "-";

    private byte[] nullLiteral = "null".getBytes(StandardCharsets.UTF_8);

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        Object literal = configs.get("null.literal");
        if (literal != null) {
            nullLiteral = literal.toString().getBytes(StandardCharsets.UTF_8);
        }
    }

    @Override
    public String deserialize(String topic, byte[] data) {
        if (data == null || Arrays.equals(data, nullLiteral)) {
            return NULL;
        }
        return Base64.getEncoder().encodeToString(data);
    }
}
