package dev.agtrace

/**
 * Kotlin values as span protocol items, checked here so that a bad argument
 * fails at the call that passed it (the core skips what it cannot read,
 * but only after the call returned).
 *
 * Strings, booleans, integers and floating-point numbers become typed
 * items; lists of one of those, typed arrays; non-finite numbers their
 * names ("NaN", "Infinity"); anything else JSON-serializable (maps, mixed
 * or nested lists) a JSON item, stored as its JSON text.
 */
internal object Attributes {
    fun checkName(what: String, name: String) {
        if (name.isEmpty()) invalid("$what must not be empty")
        if (name.indexOf('\u0000') >= 0) invalid("$what ${quote(name)} contains a NUL character")
    }

    /** A usable attribute key: non-empty, without control characters (as the core checks). */
    fun checkKey(key: String) {
        if (key.isEmpty()) invalid("attribute keys must be non-empty strings")
        for (c in key) {
            if (c == '\u0000') invalid("attribute key ${quote(key)} contains a NUL character")
            if (Character.isISOControl(c)) invalid("attribute key ${quote(key)} contains a control character")
        }
    }

    /**
     * Appends [value] under [key]; null is skipped (false). A bad key or
     * value throws [AgtraceException.InvalidArgument] with nothing appended.
     */
    fun put(enc: Encoder, key: String, value: Any?): Boolean {
        checkKey(key)
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
            else -> enc.json(key, Json.encode(value, "attribute ${quote(key)}"))
        }
        return true
    }

    /** Appends every entry of [attributes] (nulls skipped); returns how many. On a bad one, throws having appended some: the caller rewinds. */
    fun putAll(enc: Encoder, attributes: Map<String, Any?>): Int {
        var n = 0
        for ((key, value) in attributes) {
            @Suppress("USELESS_CAST")
            if ((key as Any?) !is String) invalid("attribute keys must be strings, got ${Json.typeName(key)}")
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
            else -> enc.json(key, Json.encode(values, "attribute ${quote(key)}"))
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

    fun quote(s: String): String =
        "\"" + s.map { if (Character.isISOControl(it)) "\\u%04x".format(it.code) else it.toString() }.joinToString("") + "\""
}
