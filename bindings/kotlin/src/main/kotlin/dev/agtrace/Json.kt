package dev.agtrace

/**
 * The little JSON the SDK needs without a dependency: encoding attribute,
 * message and metadata values for the core, and reading back what the core
 * reports (configuration).
 *
 * Encoding accepts null, strings, booleans, numbers (finite), maps with
 * string keys, iterables, arrays and sequences of those; anything else fails
 * with [AgtraceException.InvalidArgument] naming [what].
 * Parsing gives `Map<String, Any?>` (in order), `List<Any?>`, `String`,
 * `Long` (integers that fit) or `Double`, `Boolean` and null.
 */
internal object Json {
    fun encode(value: Any?, what: String): String = StringBuilder().also { write(it, value, what) }.toString()

    fun write(out: StringBuilder, value: Any?, what: String) {
        when (value) {
            null -> out.append("null")
            is String -> string(out, value)
            is Boolean -> out.append(value)
            is Int, is Long, is Short, is Byte -> out.append(value)
            is Double -> number(out, value, what)
            is Float -> number(out, value.toDouble(), what)
            is Number -> number(out, value.toDouble(), what)
            is Char -> string(out, value.toString())
            is Map<*, *> -> {
                out.append('{')
                var first = true
                for ((k, v) in value) {
                    if (k !is String) invalid("$what: map keys must be strings, got ${typeName(k)}")
                    if (!first) out.append(',')
                    first = false
                    string(out, k)
                    out.append(':')
                    write(out, v, what)
                }
                out.append('}')
            }
            is Iterable<*> -> array(out, value.iterator(), what)
            is Array<*> -> array(out, value.iterator(), what)
            is IntArray -> array(out, value.iterator(), what)
            is LongArray -> array(out, value.iterator(), what)
            is DoubleArray -> array(out, value.iterator(), what)
            is BooleanArray -> array(out, value.iterator(), what)
            is Sequence<*> -> array(out, value.iterator(), what)
            else -> invalid("$what: values of type ${typeName(value)} are not supported")
        }
    }

    private fun array(out: StringBuilder, items: Iterator<*>, what: String) {
        out.append('[')
        var first = true
        for (item in items) {
            if (!first) out.append(',')
            first = false
            write(out, item, what)
        }
        out.append(']')
    }

    private fun number(out: StringBuilder, value: Double, what: String) {
        if (!value.isFinite()) invalid("$what: $value is not a finite number")
        out.append(value)
    }

    fun string(out: StringBuilder, s: String) {
        out.append('"')
        for (c in s) {
            when {
                c == '"' -> out.append("\\\"")
                c == '\\' -> out.append("\\\\")
                c == '\n' -> out.append("\\n")
                c == '\r' -> out.append("\\r")
                c == '\t' -> out.append("\\t")
                c < ' ' || c == '\u007f' -> out.append("\\u").append(String.format("%04x", c.code))
                else -> out.append(c)
            }
        }
        out.append('"')
    }

    fun typeName(value: Any?): String = if (value == null) "null" else value::class.qualifiedName ?: value.javaClass.name

    // -- parsing ---------------------------------------------------------------

    fun parse(text: String): Any? {
        val p = Parser(text)
        val value = p.value()
        p.skipSpace()
        if (p.i != text.length) p.fail("trailing characters")
        return value
    }

    @Suppress("UNCHECKED_CAST")
    fun parseObject(text: String): Map<String, Any?> =
        parse(text) as? Map<String, Any?> ?: throw AgtraceException.Internal("expected a JSON object: ${text.take(200)}")

    private class Parser(val s: String) {
        var i = 0

        fun fail(why: String): Nothing = throw IllegalArgumentException("$why at character $i")

        fun skipSpace() {
            while (i < s.length && s[i].isWhitespace()) i++
        }

        fun value(): Any? {
            skipSpace()
            if (i >= s.length) fail("unexpected end")
            return when (val c = s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> if (c == '-' || c.isDigit()) num() else fail("unexpected '$c'")
            }
        }

        fun literal(word: String, value: Any?): Any? {
            if (!s.startsWith(word, i)) fail("expected $word")
            i += word.length
            return value
        }

        fun obj(): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            i++
            skipSpace()
            if (s.getOrNull(i) == '}') return out.also { i++ }
            while (true) {
                skipSpace()
                if (s.getOrNull(i) != '"') fail("expected a key")
                val key = str()
                skipSpace()
                if (s.getOrNull(i) != ':') fail("expected ':'")
                i++
                out[key] = value()
                skipSpace()
                when (s.getOrNull(i)) {
                    ',' -> i++
                    '}' -> return out.also { i++ }
                    else -> fail("expected ',' or '}'")
                }
            }
        }

        fun arr(): List<Any?> {
            val out = ArrayList<Any?>()
            i++
            skipSpace()
            if (s.getOrNull(i) == ']') return out.also { i++ }
            while (true) {
                out += value()
                skipSpace()
                when (s.getOrNull(i)) {
                    ',' -> i++
                    ']' -> return out.also { i++ }
                    else -> fail("expected ',' or ']'")
                }
            }
        }

        fun str(): String {
            val out = StringBuilder()
            i++
            while (true) {
                if (i >= s.length) fail("unterminated string")
                val c = s[i++]
                when (c) {
                    '"' -> return out.toString()
                    '\\' -> {
                        val e = s.getOrNull(i++) ?: fail("unterminated escape")
                        when (e) {
                            '"', '\\', '/' -> out.append(e)
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000c')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> {
                                if (i + 4 > s.length) fail("short \\u escape")
                                out.append(s.substring(i, i + 4).toInt(16).toChar())
                                i += 4
                            }
                            else -> fail("bad escape")
                        }
                    }
                    else -> out.append(c)
                }
            }
        }

        fun num(): Any {
            val start = i
            if (s[i] == '-') i++
            while (i < s.length && (s[i].isDigit() || s[i] in ".eE+-")) i++
            val text = s.substring(start, i)
            if (text.none { it in ".eE" }) text.toLongOrNull()?.let { return it }
            return text.toDoubleOrNull() ?: fail("bad number $text")
        }
    }
}
