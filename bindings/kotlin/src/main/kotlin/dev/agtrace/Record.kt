package dev.agtrace

/**
 * Packing attributes and ops into the C ABI's packed record: NUL-separated
 * UTF-8 fields (the format is documented in ffi/src/packed.rs). A record is
 * built in a [StringBuilder] and encoded once, so a span's start and end are
 * one crossing each whatever it carries.
 *
 * Every field is NUL-free by construction: names and keys are checked here
 * (with a clear error at the call that passed them), string values holding a
 * NUL go as JSON, ops carry JSON or checked text. Lone surrogates become "?"
 * when encoded.
 */
internal object Record {
    private const val SEP = '\u0000'
    private const val TYPED = '\u0001'
    private const val OP = '\u0002'

    /** Appends a field, after a separator unless it is the record's first. */
    fun field(out: StringBuilder, text: String) {
        if (out.isNotEmpty()) out.append(SEP)
        out.append(text)
    }

    fun op(out: StringBuilder, name: String, argument: String) {
        if (out.isNotEmpty()) out.append(SEP)
        out.append(OP).append(name).append(SEP).append(argument)
    }

    fun encode(out: StringBuilder): ByteArray = out.toString().toByteArray(Charsets.UTF_8)

    fun checkName(what: String, name: String) {
        if (name.isEmpty()) invalid("$what must not be empty")
        if (name.indexOf(SEP) >= 0) invalid("$what ${quote(name)} contains a NUL character")
    }

    /** A usable attribute key: non-empty, without control characters (as the core checks). */
    fun checkKey(key: String) {
        if (key.isEmpty()) invalid("attribute keys must be non-empty strings")
        for (c in key) {
            if (c == SEP) invalid("attribute key ${quote(key)} contains a NUL character")
            if (Character.isISOControl(c)) invalid("attribute key ${quote(key)} contains a control character")
        }
    }

    fun text(out: StringBuilder, key: String, value: String) {
        checkKey(key)
        if (value.indexOf(SEP) >= 0) {
            // A NUL would split the field: as a JSON string it is escaped.
            typedField(out, key, Json.encode(value, "attribute $key"))
        } else {
            field(out, key)
            out.append(SEP).append(value)
        }
    }

    fun typed(out: StringBuilder, key: String, json: String) {
        checkKey(key)
        typedField(out, key, json)
    }

    private fun typedField(out: StringBuilder, key: String, json: String) {
        if (out.isNotEmpty()) out.append(SEP)
        out.append(TYPED).append(key).append(SEP).append(json)
    }

    /**
     * Appends one attribute of any supported type; null is skipped. The
     * value is checked before anything is appended, so a bad one leaves
     * [out] as it was.
     */
    fun attribute(out: StringBuilder, key: String, value: Any?) {
        when (value) {
            null -> return
            is String -> text(out, key, value)
            is Boolean -> typed(out, key, if (value) "true" else "false")
            is Int, is Long, is Short, is Byte -> typed(out, key, value.toString())
            is Double -> typed(out, key, double(value))
            is Float -> typed(out, key, if (value.isFinite()) value.toString() else double(value.toDouble()))
            else -> {
                checkKey(key)
                typedField(out, key, Json.encode(value, "attribute ${quote(key)}"))
            }
        }
    }

    /** Non-finite doubles go as strings ("NaN", "Infinity"): JSON has no such numbers. */
    fun double(value: Double): String =
        if (value.isFinite()) value.toString() else "\"$value\""

    fun attributes(out: StringBuilder, attributes: Map<String, Any?>) {
        for ((key, value) in attributes) {
            @Suppress("USELESS_CAST")
            if ((key as Any?) !is String) invalid("attribute keys must be strings, got ${Json.typeName(key)}")
            attribute(out, key, value)
        }
    }

    fun quote(s: String): String =
        "\"" + s.map { if (Character.isISOControl(it)) "\\u%04x".format(it.code) else it.toString() }.joinToString("") + "\""
}
