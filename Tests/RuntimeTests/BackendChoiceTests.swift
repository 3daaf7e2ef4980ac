import Runtime
import XCTest

/// `--device` parsing and the CPU choice (the Vulkan choice is covered by the Vulkan backend's tests).
final class BackendChoiceTests: XCTestCase {
    func testDeviceValuesParse() throws {
        XCTAssertEqual(try DeviceRequest(parsing: nil), .automatic)
        XCTAssertEqual(try DeviceRequest(parsing: "cpu"), .cpu)
        XCTAssertEqual(try DeviceRequest(parsing: "vulkan"), .vulkan(selector: nil))
        XCTAssertEqual(try DeviceRequest(parsing: "vulkan:1"), .vulkan(selector: "1"))
    }

    func testBadDeviceValuesAreNamed() {
        for value in ["gpu", "vulkan:", "CPU"] {
            XCTAssertThrowsError(try DeviceRequest(parsing: value)) { XCTAssertTrue("\($0)".contains("--device \(value)"), "\($0)") }
        }
    }

    func testCPURequestGivesTheCPUBackendWithoutNotice() throws {
        let choice = try BackendChoice.make(.cpu)
        XCTAssertTrue(choice.backend.name.hasPrefix("cpu"), choice.backend.name)
        XCTAssertNil(choice.notice)
    }
}
