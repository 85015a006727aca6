import Domain
import Testing

@Suite struct ProviderTextTests {
    @Test func pathsLinksAndAddressesAreReplaced() {
        let comfy =
            "Error while saving: [Errno 13] Permission denied: '/home/gpu/ComfyUI/output/ComfyUI_00001_.png'\nfull_output_folder: /home/gpu/ComfyUI/output"
        #expect(ProviderText.scrubbed(comfy) == "Error while saving: [Errno 13] Permission denied: '<path>' full_output_folder: <path>")
        #expect(ProviderText.scrubbed(#"C:\models\sd\v1.ckpt not found"#) == "<path> not found")
        #expect(
            ProviderText.scrubbed("upstream 10.0.0.5:8188 refused; see https://status.example.com/x?y=1")
                == "upstream <address> refused; see <link>")
        #expect(ProviderText.scrubbed("connect to [fe80::1]:8188 failed") == "connect to <address> failed")
    }

    @Test func ordinaryTextIsKept() {
        #expect(
            ProviderText.scrubbed("HTTP 503: the model is overloaded, try again in 12:30 min")
                == "HTTP 503: the model is overloaded, try again in 12:30 min")
        #expect(ProviderText.scrubbed("width/height must be a multiple of 64") == "width/height must be a multiple of 64")
        #expect(ProviderText.scrubbed(String(repeating: "x", count: 900)).count == ProviderText.maxLength + 1)
        #expect(ProviderText.scrubbed("started 12:30:45, done") == "started 12:30:45, done")
        #expect(ProviderText.scrubbed("at fe80::1:2:3 now") == "at <address> now")
    }

    /// A message of 100,000 letters (a node quoting a base64 image) is scrubbed in well under a
    /// second (an unbounded scheme pattern took 21 s for 32 KB).
    @Test func longMessagesAreCheap() {
        let started = ContinuousClock.now
        let scrubbed = ProviderText.scrubbed("error: " + String(repeating: "iVBORw0KGgoAAAANSUhEUgAA", count: 4_000))
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(scrubbed.count == ProviderText.maxLength + 1)
    }
}
