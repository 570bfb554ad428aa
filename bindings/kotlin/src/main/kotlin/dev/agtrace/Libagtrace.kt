package dev.agtrace

import com.sun.jna.NativeLibrary
import com.sun.jna.Platform
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardCopyOption

/**
 * The one libagtrace file of the process, for the three ways into it: the
 * uniffi-generated bindings and [Abi] (JNA), and [Native] (JNI, loaded
 * here with `System.load`). Initialized before either JNA binding loads,
 * it names the file in uniffi's override property, which both read, so the
 * three bind one copy: one core.
 *
 * The file is the override's (an absolute path, or a name JNA finds), else
 * the jar's `linux-x86-64/libagtrace.so` (JNA's resource path): used in
 * place from a class path directory, copied out of a jar into a temporary
 * file kept until exit (JNA would delete its own copy once loaded, leaving
 * the JVM nothing to load), else whatever JNA finds on the library path.
 */
internal object Libagtrace {
    private const val OVERRIDE = "uniffi.component.agtrace_ffi.libraryOverride"

    /** The absolute path of the loaded file. */
    val file: String = locate()

    init {
        System.setProperty(OVERRIDE, file)
        System.load(file)
    }

    private fun locate(): String {
        System.getProperty(OVERRIDE)?.let { name -> return if (File(name).isAbsolute) name else found(name) }
        val resource = "${Platform.RESOURCE_PREFIX}/${System.mapLibraryName("agtrace")}"
        val url = Libagtrace::class.java.classLoader.getResource(resource) ?: return found("agtrace")
        if (url.protocol == "file") return Path.of(url.toURI()).toString()
        val copy = Files.createTempFile("libagtrace", ".so")
        copy.toFile().deleteOnExit()
        url.openStream().use { Files.copy(it, copy, StandardCopyOption.REPLACE_EXISTING) }
        return copy.toString()
    }

    /** The file JNA finds for [name] on the library path. */
    private fun found(name: String): String =
        NativeLibrary.getInstance(name).file?.absolutePath
            ?: throw AgtraceException.Internal("libagtrace: JNA found \"$name\" in no file the JVM can load too")
}
