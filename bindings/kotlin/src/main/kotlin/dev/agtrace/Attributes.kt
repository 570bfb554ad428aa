package dev.agtrace

/**
 * Attribute keys and values as span protocol items.
 *
 * Values are converted by [Values] before a span's or a thread buffer's
 * lock is taken ([prepare]): strings, booleans, integers and
 * floating-point numbers become typed items; uniform lists of one of those,
 * typed arrays; non-finite numbers their names ("NaN", "Infinity");
 * everything else, converted, a JSON item (its JSON text), or a string item
 * when it converts to text. Encoding a prepared value runs no code of the
 * value's own and cannot fail but for size ([Encoder.Oversize]).
 *
 * A key must be a non-empty string without control characters (as the core
 * checks); one that is not is dropped, that attribute only, and reported as
 * misuse ([Misuse]).
 */
internal object Attributes {
    /** What is wrong with [name] as a span, event, tool or agent name, or null. */
    fun nameProblem(name: String): String? =
        when {
            name.isEmpty() -> "is empty"
            name.indexOf('\u0000') >= 0 -> "contains a NUL character"
            else -> null
        }

    /** What is wrong with [key] as an attribute key, or null. */
    fun keyProblem(key: Any?): String? {
        if (key !is String) return "is not a string but ${Json.typeName(key)}"
        if (key.isEmpty()) return "is empty"
        for (c in key) if (Character.isISOControl(c)) return "contains a control character"
        return null
    }

    /** True when [key] is usable; otherwise reports it to [tracer] (thrown in strict mode). */
    fun checkKey(tracer: Tracer?, key: Any?): Boolean {
        val problem = keyProblem(key) ?: return true
        Misuse.report(tracer, Codes.MISUSE_BAD_NAME, "attribute ${describe(key)} dropped: its key $problem")
        return false
    }

    /**
     * [attributes] ready to encode: entries with a bad key dropped (and
     * reported), values converted. The map itself when nothing needed doing
     * (the common case: no allocation).
     */
    fun prepare(tracer: Tracer?, attributes: Map<String, Any?>): Map<String, Any?> {
        var ready = true
        for ((key, value) in attributes) {
            if (!Values.isScalar(value) || keyProblem(key) != null) {
                ready = false
                break
            }
        }
        if (ready) return attributes
        val out = LinkedHashMap<String, Any?>(attributes.size * 2)
        for ((key, value) in attributes) {
            if (checkKey(tracer, key)) out[key] = Values.prepare(value)
        }
        return out
    }

    /** Appends [value] (a scalar, or converted by [Values.prepare]) under [key]; null is skipped (false). */
    fun put(enc: Encoder, key: String, value: Any?): Boolean {
        when (value) {
            null -> return false
            is String -> enc.string(key, value)
            is Boolean -> enc.bool(key, value)
            is Int -> enc.int(key, value.toLong())
            is Long -> enc.int(key, value)
            is Short -> enc.int(key, value.toLong())
            is Byte -> enc.int(key, value.toLong())
            is Double -> if (value.isFinite()) enc.double(key, value) else enc.string(key, value.toString())
            // Through its shortest text, so 0.1f stays 0.1.
            is Float -> if (value.isFinite()) enc.double(key, value.toString().toDouble()) else enc.string(key, value.toString())
            is List<*> -> list(enc, key, value)
            else -> enc.json(key, Values.json(value))
        }
        return true
    }

    /** Appends every entry of prepared [attributes] (nulls skipped); returns how many. */
    fun putAll(enc: Encoder, attributes: Map<String, Any?>): Int {
        var n = 0
        for ((key, value) in attributes) {
            if (put(enc, key, value)) n++
        }
        return n
    }

    /** A uniform list as a typed array; anything else (empty, mixed, nested, non-finite) through JSON. */
    private fun list(enc: Encoder, key: String, values: List<*>) {
        when (uniform(values)) {
            Codes.ITEM_STRING_ARRAY -> {
                enc.array(Codes.ITEM_STRING_ARRAY, key, values.size)
                for (v in values) enc.str(v as String)
            }
            Codes.ITEM_INT_ARRAY -> {
                enc.array(Codes.ITEM_INT_ARRAY, key, values.size)
                for (v in values) enc.long((v as Number).toLong())
            }
            Codes.ITEM_DOUBLE_ARRAY -> {
                enc.array(Codes.ITEM_DOUBLE_ARRAY, key, values.size)
                for (v in values) enc.double(if (v is Float) v.toString().toDouble() else v as Double)
            }
            Codes.ITEM_BOOL_ARRAY -> {
                enc.array(Codes.ITEM_BOOL_ARRAY, key, values.size)
                for (v in values) enc.byte(if (v as Boolean) 1 else 0)
            }
            else -> enc.json(key, Values.json(Values.plain(values)))
        }
    }

    /** The array item code [values] fit, or 0. */
    private fun uniform(values: List<*>): Int {
        if (values.isEmpty()) return 0
        val code =
            when (values[0]) {
                is String -> Codes.ITEM_STRING_ARRAY
                is Int, is Long, is Short, is Byte -> Codes.ITEM_INT_ARRAY
                is Double, is Float -> Codes.ITEM_DOUBLE_ARRAY
                is Boolean -> Codes.ITEM_BOOL_ARRAY
                else -> return 0
            }
        for (v in values) {
            val fits =
                when (code) {
                    Codes.ITEM_STRING_ARRAY -> v is String
                    Codes.ITEM_INT_ARRAY -> v is Int || v is Long || v is Short || v is Byte
                    Codes.ITEM_DOUBLE_ARRAY -> (v is Double && v.isFinite()) || (v is Float && v.isFinite())
                    else -> v is Boolean
                }
            if (!fits) return 0
        }
        return code
    }

    /** [value] for a message: a string quoted with control characters escaped, anything else bounded. */
    fun describe(value: Any?): String = if (value is String) quote(value) else Values.plain(value).toString().take(Values.MAX_REPR)

    fun quote(s: String): String =
        "\"" + s.map { if (Character.isISOControl(it)) "\\u%04x".format(it.code) else it.toString() }.joinToString("") + "\""
}
