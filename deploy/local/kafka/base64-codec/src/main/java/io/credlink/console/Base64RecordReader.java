package io.credlink.console;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.regex.Pattern;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.tools.api.RecordReader;

/**
 * Reads the lines kafka-console-consumer prints with {@link Base64Deserializer} back into records
 * for kafka-console-producer ({@code --line-reader io.credlink.console.Base64RecordReader}).
 *
 * <p>A line holds the columns the DefaultMessageFormatter prints with {@code print.partition},
 * {@code print.headers} and {@code print.key}, joined by {@code key.separator}:
 * {@code [Partition:P][ HEADERS][ KEY] VALUE}. The reader expects exactly the columns named by
 * its own {@code parse.partition}, {@code parse.headers} and {@code parse.key} (each default
 * false). KEY, VALUE and header values are base64, or {@link Base64Deserializer#NULL} for null;
 * HEADERS is {@code NO_HEADERS} or {@code name:value} pairs joined by {@code headers.separator}.
 * With {@code parse.partition} each record goes back to the partition it was read from;
 * otherwise the producer's partitioner picks one.
 */
public final class Base64RecordReader implements RecordReader {
    private static final String PARTITION = "Partition:";
    private static final String NO_HEADERS = "NO_HEADERS";

    private String topic;
    private boolean parsePartition;
    private boolean parseHeaders;
    private boolean parseKey;
    private String keySeparator = "\t";
    private String headersSeparator = ",";

    @Override
    public void configure(Map<String, ?> configs) {
        topic = configs.get("topic").toString();
        parsePartition = flag(configs, "parse.partition");
        parseHeaders = flag(configs, "parse.headers");
        parseKey = flag(configs, "parse.key");
        if (configs.containsKey("key.separator")) {
            keySeparator = configs.get("key.separator").toString();
        }
        if (configs.containsKey("headers.separator")) {
            headersSeparator = configs.get("headers.separator").toString();
        }
        if (keySeparator.isEmpty() || headersSeparator.isEmpty()) {
            throw new KafkaException("key.separator and headers.separator may not be empty");
        }
    }

    @Override
    public Iterator<ProducerRecord<byte[], byte[]>> readRecords(InputStream inputStream) {
        BufferedInputStream input = new BufferedInputStream(inputStream);
        return new Iterator<>() {
            private byte[] line;
            private int lineNumber;

            @Override
            public boolean hasNext() {
                if (line == null) {
                    line = readLine(input);
                }
                return line != null;
            }

            @Override
            public ProducerRecord<byte[], byte[]> next() {
                if (!hasNext()) {
                    throw new NoSuchElementException("no more records");
                }
                byte[] current = line;
                line = null;
                lineNumber += 1;
                try {
                    return parse(utf8(current));
                } catch (IllegalArgumentException | CharacterCodingException e) {
                    throw new KafkaException("line " + lineNumber + ": " + e.getMessage(), e);
                }
            }
        };
    }

    private ProducerRecord<byte[], byte[]> parse(String line) {
        String rest = line;
        Integer partition = null;
        if (parsePartition) {
            int end = rest.indexOf(keySeparator);
            if (!rest.startsWith(PARTITION) || end < 0) {
                throw new IllegalArgumentException("expected " + PARTITION + "<n> as the first column");
            }
            partition = Integer.valueOf(rest.substring(PARTITION.length(), end));
            rest = rest.substring(end + keySeparator.length());
        }
        // Base64 never contains the separator but header names may, so columns are cut from the right.
        String value = rest;
        String headers = null;
        String key = null;
        if (parseHeaders || parseKey) {
            int cut = lastSeparator(rest, "value");
            value = rest.substring(cut + keySeparator.length());
            rest = rest.substring(0, cut);
            if (parseHeaders && parseKey) {
                cut = lastSeparator(rest, "key");
                key = rest.substring(cut + keySeparator.length());
                headers = rest.substring(0, cut);
            } else if (parseKey) {
                key = rest;
            } else {
                headers = rest;
            }
        }
        ProducerRecord<byte[], byte[]> record =
                new ProducerRecord<>(topic, partition, key == null ? null : decode(key), decode(value));
        if (headers != null && !headers.equals(NO_HEADERS)) {
            for (String pair : headers.split(Pattern.quote(headersSeparator), -1)) {
                int colon = pair.lastIndexOf(':');
                if (colon < 0) {
                    throw new IllegalArgumentException("header without ':' in '" + pair + "'");
                }
                record.headers().add(pair.substring(0, colon), decode(pair.substring(colon + 1)));
            }
        }
        return record;
    }

    private int lastSeparator(String columns, String column) {
        int cut = columns.lastIndexOf(keySeparator);
        if (cut < 0) {
            throw new IllegalArgumentException("no key.separator before the " + column + " column");
        }
        return cut;
    }

    private static byte[] decode(String column) {
        return column.equals(Base64Deserializer.NULL) ? null : Base64.getDecoder().decode(column);
    }

    private static boolean flag(Map<String, ?> configs, String name) {
        Object value = configs.get(name);
        return value != null && value.toString().trim().equalsIgnoreCase("true");
    }

    /** The bytes up to the next '\n' (only '\n' ends a line; base64 holds no '\r'), or null at the end. */
    private static byte[] readLine(InputStream input) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            int next = input.read();
            if (next < 0) {
                return null;
            }
            while (next >= 0 && next != '\n') {
                line.write(next);
                next = input.read();
            }
        } catch (IOException e) {
            throw new KafkaException(e);
        }
        return line.toByteArray();
    }

    private static String utf8(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
    }
}
